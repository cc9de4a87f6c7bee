/**
 * What every lease store accepts, checked the same way by each adapter so they agree on the edge
 * cases. Keys are chosen by the bot and short (`conv:<roomId>/<root>`, `instance:<id>`); a key
 * past these bounds is a bug upstream, refused with `LeaseInputError` before anything is written,
 * never cut (a cut key could name another lease).
 */
import { CodedError } from '../../errors.js';

/**
 * UTF-8 bytes, not characters: what index-key limits count (older MongoDB servers and DocumentDB
 * bound an index key to about 1 KiB and 2 KiB), so a key the memory store takes fits every store.
 */
export const MAX_LEASE_KEY_BYTES = 1_000;
export const MAX_LEASE_OWNER_BYTES = 1_000;
/** `list` returns at most this many leases whatever limit it is asked for. */
export const MAX_LISTED_LEASES = 10_000;
/**
 * The persistent stores delete a lease this long after it expired: its holder has stopped renewing
 * for a day, so it is gone; its renewal then reports the key lost, as for any lease taken over.
 */
export const LEASE_PURGE_AFTER_MS = 86_400_000;

/** The latest time a JavaScript `Date` (and so a MongoDB date) can hold. */
const MAX_EPOCH_MS = 8.64e15;
/** The greatest code point: it sorts after every other character, in UTF-8 bytes as in code points. */
const LAST_CHARACTER = '\u{10FFFF}';

/** A lease store was handed a key, owner, time or limit it does not accept. */
export class LeaseInputError extends CodedError {
  readonly code = 'STORE_LEASE_INPUT';

  constructor(message: string) {
    super(message);
    this.name = 'LeaseInputError';
  }
}

function checkText(value: unknown, what: string, maxBytes: number, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw new LeaseInputError(`a lease ${what} must be a string`);
  if (!allowEmpty && value.length === 0) throw new LeaseInputError(`a lease ${what} must not be empty`);
  // A UTF-16 unit takes at least one UTF-8 byte: an overlong value is refused before it is encoded.
  const bytes = value.length > maxBytes ? value.length : Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes)
    throw new LeaseInputError(
      `a lease ${what} must be at most ${maxBytes} UTF-8 bytes (got at least ${bytes})`,
    );
  // SQLite and BSON would store a NUL or a lone surrogate differently from what was given, so the
  // key read back would not be the key written.
  if (value.includes('\u0000')) throw new LeaseInputError(`a lease ${what} must not contain NUL`);
  if (/\p{Surrogate}/u.test(value))
    throw new LeaseInputError(`a lease ${what} must be well-formed Unicode (it has a lone surrogate)`);
  return value;
}

export function leaseKey(key: unknown): string {
  return checkText(key, 'key', MAX_LEASE_KEY_BYTES, false);
}

export function leaseOwner(owner: unknown): string {
  return checkText(owner, 'owner', MAX_LEASE_OWNER_BYTES, false);
}

/** A prefix follows the key rules, except that the empty prefix (every lease) is allowed. */
export function leasePrefix(prefix: unknown): string {
  return checkText(prefix, 'prefix', MAX_LEASE_KEY_BYTES, true);
}

/** The keys checked, each once, in the order given. */
export function leaseKeys(keys: readonly string[]): string[] {
  if (!Array.isArray(keys)) throw new LeaseInputError('lease keys must be an array');
  return [...new Set(keys.map(leaseKey))];
}

/**
 * An epoch ms as a whole number, rounded towards keeping leases: an expiry up, a `now` down, so
 * rounding never lets another process take a lease earlier than its holder was told.
 */
export function leaseTime(value: unknown, what: 'now' | 'expiresAt'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_EPOCH_MS)
    throw new LeaseInputError(`a lease's ${what} must be an epoch ms a Date can hold (got ${String(value)})`);
  return what === 'expiresAt' ? Math.ceil(value) : Math.floor(value);
}

/** A whole number in [0, MAX_LISTED_LEASES]; NaN lists nothing. */
export function listLimit(limit: number): number {
  if (Number.isNaN(limit)) return 0;
  return Math.min(MAX_LISTED_LEASES, Math.max(0, Math.floor(limit)));
}

/**
 * The greatest key that starts with `prefix`: every key starting with it sorts in
 * `[prefix, upper]` (a key has at most MAX_LEASE_KEY_BYTES characters after the prefix, none
 * above the last one), and no other key does. Sorting is by code point, which is UTF-8 byte order
 * (SQLite's BINARY collation, MongoDB's simple one), so the range is served by the key index and
 * has none of LIKE's wildcards or case folding.
 */
export function prefixUpperBound(prefix: string): string {
  return prefix + LAST_CHARACTER.repeat(MAX_LEASE_KEY_BYTES);
}
