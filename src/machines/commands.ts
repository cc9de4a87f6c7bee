/**
 * Bot commands (SPEC §4): the whole message, after the mention is removed, matched without
 * regard to case. Anything else is a question for the agent.
 */
export type Command = 'help' | 'reset' | 'cancel' | 'authorize';

const COMMANDS: Record<string, Command> = {
  help: 'help',
  reset: 'reset',
  new: 'reset',
  cancel: 'cancel',
  stop: 'cancel',
  authorize: 'authorize',
  auth: 'authorize',
};

export function parseCommand(text: string): Command | undefined {
  // A trailing "!" or "." is how people type commands in chat ("stop!", "help.").
  const word = text
    .trim()
    .toLowerCase()
    .replace(/^\/+/, '')
    .replace(/[.!?]+$/, '');
  return Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
}
