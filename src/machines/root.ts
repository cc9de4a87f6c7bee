/**
 * The root of the bot's one actor system: the Webex connection (whose intake hands each admitted
 * event to `bot`) and the bot that answers. Both are invoked with system ids so that actors find
 * each other through the system (`system.get('bot')`), never through callbacks or shared variables.
 *
 * Shutdown is the runtime's sequence (drain the bot, wait, cancel, then stop the connection):
 * events go to the children by system id, so the root itself only holds them.
 */
import { setup } from 'xstate';
import { type BotInput, botMachine } from './bot.js';
import { webexConnectionMachine } from './webex-connection.js';

export type RootInput = BotInput;

export const rootMachine = setup({
  types: { input: {} as RootInput, context: {} as RootInput },
  actors: {
    // The pure machines: their placeholder effects fail loudly until `src/actors/system.ts`
    // provides the real ones.
    bot: botMachine,
    webexConnection: webexConnectionMachine,
  },
}).createMachine({
  id: 'root',
  context: ({ input }) => input,
  invoke: [
    {
      id: 'bot',
      systemId: 'bot',
      src: 'bot',
      input: ({ context }) => context,
    },
    { id: 'webex.connection', systemId: 'webex.connection', src: 'webexConnection' },
  ],
});
