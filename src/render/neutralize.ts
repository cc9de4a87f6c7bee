/**
 * The agent's text is shown, never acted on (SPEC "Agent output"): Webex mention markup in anything
 * the agent wrote is made inert before the bot posts it, so an answer cannot notify a whole space
 * (`<@all>`) or page a person (`<@personEmail:…>`), whatever the agent was told to write.
 *
 * What Webex parses (reference/webex-protocol.md §7, and the simulator's `markup.ts`): in a message's
 * `markdown`, `<@personEmail:addr|Name>`, `<@personId:ID|Name>` and `<@all>` become real mentions;
 * the rendered `html` carries `<spark-mention data-object-type=… >Name</spark-mention>` tags, and
 * group mentions are `spark-mention` tags of type `groupMention`. How Webex tokenises the source is
 * not published, so the choice here does not depend on it:
 *
 * - A complete mention is replaced by the words a reader would see for it (`@Name`, `@all`): the
 *   text stays readable and no `<@` sequence is left for any parser to find. An invisible or escaped
 *   variant (a zero-width character between `<` and `@`, or `&lt;@` that a later HTML step could
 *   decode) is treated the same, in case Webex strips or decodes it before looking for mentions.
 * - Something shaped like a mention that is not mention syntax (`List<@NonNull T>` in Java code)
 *   keeps its words; only its opener is defused, as below.
 * - Anything left that could still open a mention or a `spark-mention` tag (an unterminated `<@…`,
 *   a stray `</spark-mention>`) has its `<` replaced by `‹` (U+2039), which looks alike and is
 *   not markup. We do not insert a zero-width character instead: whether Webex removes such
 *   characters before parsing is unknown, and if it does, the mention would come back.
 *
 * Code blocks get the same treatment: whether Webex looks for mentions inside them is not
 * documented either, and a notification is worse than a slightly altered example.
 *
 * Pure and idempotent; output never holds `<@`, `&lt;@` or `<spark-mention` in any of the forms
 * above (a property test checks it).
 */

/** What may sit between `<` and `@` and be dropped or ignored by a renderer: format characters, marks. */
const INVISIBLE = '[\\p{Cf}\\p{M}]*';
/** `<` written directly or as an HTML character reference. */
const OPEN = '(?:<|&lt;?|&#0*60;?|&#[xX]0*3[cC];?)';
/** `>` written directly or as an HTML character reference. */
const CLOSE = '(?:>|&gt;?|&#0*62;?|&#[xX]0*3[eE];?)';

/** Longest mention body read as one mention; Webex ids and emails are far shorter. */
const MAX_BODY = 1_000;

const MENTION = new RegExp(
  `${OPEN}${INVISIBLE}@${INVISIBLE}((?:(?!${CLOSE})[^\\r\\n]){0,${MAX_BODY}}?)${CLOSE}`,
  'giu',
);
const SPARK_MENTION = new RegExp(
  `${OPEN}${INVISIBLE}spark-mention\\b[^>]{0,${MAX_BODY}}>([^<]{0,${MAX_BODY}})${OPEN}${INVISIBLE}/${INVISIBLE}spark-mention${INVISIBLE}${CLOSE}`,
  'giu',
);
/** Whatever could still open a mention or a spark-mention tag after the complete ones are gone. */
const OPENER = new RegExp(`${OPEN}(?=${INVISIBLE}(?:@|/?${INVISIBLE}spark-mention))`, 'giu');

/**
 * What a reader sees for a mention: the name it carries, else its address. Undefined when the body
 * is not mention syntax (`List<@NonNull T>` in Java): then only its opener is defused, below.
 */
function displayOf(body: string): string | undefined {
  const trimmed = body.trim();
  if (/^all$/i.test(trimmed)) return '@all';
  const kind = /^([A-Za-z][\w-]*)\s*:/.exec(trimmed);
  if (!kind) return undefined;
  const bar = trimmed.indexOf('|');
  const name = bar >= 0 ? trimmed.slice(bar + 1).trim() : '';
  if (name) return `@${name}`;
  const value = trimmed.slice(kind[0].length, bar >= 0 ? bar : undefined).trim();
  if (kind[1]?.toLowerCase() === 'personemail' && value) return `@${value}`;
  return '@someone';
}

function sparkDisplay(inner: string): string {
  const text = inner.trim();
  if (!text) return '@someone';
  return text.startsWith('@') ? text : `@${text}`;
}

/** `text` with every Webex mention made inert and kept readable (see the module comment). */
export function neutralizeMentions(text: string): string {
  if (!text) return text;
  // Cheap exit for the common case: no character that could start markup at all.
  if (!text.includes('<') && !text.includes('&')) return text;
  let out = text.replace(SPARK_MENTION, (_match, inner: string) => sparkDisplay(inner));
  out = out.replace(MENTION, (match: string, body: string) => displayOf(body) ?? match);
  // A name may itself have held markup (`<@personEmail:x|<@all>`): the last pass catches every
  // opener that is left, also those the replacements above produced.
  return out.replace(OPENER, '‹');
}
