/**
 * The simulator's own reading of Webex public ("Hydra") ids, written from the protocol facts
 * (reference `webex-protocol.md` §5), not taken from the bot: a wrong codec in the bot must fail
 * against the simulator, not pass because both share it.
 *
 * An id is `ciscospark://<cluster>/<TYPE>/<id>` in URL-safe base64. Webex issues ids without
 * padding; what it accepts back is modelled leniently (padded or not, either base64 alphabet),
 * which is a guess: the official SDK only ever sends unpadded ids.
 */

export type HydraKind =
  | 'PEOPLE'
  | 'ROOM'
  | 'MESSAGE'
  | 'ATTACHMENT_ACTION'
  | 'MEMBERSHIP'
  | 'TEAM'
  | 'ORGANIZATION'
  | 'CONTENT';

const KINDS: ReadonlySet<string> = new Set<HydraKind>([
  'PEOPLE',
  'ROOM',
  'MESSAGE',
  'ATTACHMENT_ACTION',
  'MEMBERSHIP',
  'TEAM',
  'ORGANIZATION',
  'CONTENT',
]);
const PREFIX = 'ciscospark://';
/** Real ids are well under this; anything longer is not an id Webex issued. */
const MAX_ID_LENGTH = 512;

export interface HydraParts {
  cluster: string;
  kind: HydraKind;
  /** The raw id inside (a UUID; `<person>:<room>` for memberships). */
  inner: string;
}

/** The id Webex would issue: unpadded URL-safe base64. */
export function hydraId(kind: HydraKind, inner: string, cluster = 'us'): string {
  return Buffer.from(`${PREFIX}${cluster}/${kind}/${inner}`).toString('base64url');
}

export function readHydraId(id: unknown): HydraParts | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return undefined;
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(id)) return undefined;
  const text = Buffer.from(
    id.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
    'base64url',
  ).toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  // `<cluster>/<KIND>/<inner>`: clusters hold ':' but never '/'.
  const match = /^([^/\s]+)\/([A-Z_]+)\/(\S+)$/.exec(text.slice(PREFIX.length));
  if (!match || !KINDS.has(match[2]!)) return undefined;
  return { cluster: match[1]!, kind: match[2] as HydraKind, inner: match[3]! };
}
