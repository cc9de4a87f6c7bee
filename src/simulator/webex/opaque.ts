import { randomBytes } from 'node:crypto';

/**
 * Stand-in for the JWE ciphertext Webex puts in activity text fields. It looks like a compact
 * JWE (`eyJ…`, five parts, `dir` + A256GCM) and never contains the plaintext, so a client that
 * reads text from the socket instead of REST fails visibly.
 */
const HEADER = Buffer.from(
  JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: 'kms://kms-us.wbx2.com/keys/sim' }),
).toString('base64url');

export function opaqueCiphertext(plaintextLength: number): string {
  const iv = randomBytes(12).toString('base64url');
  const body = randomBytes(Math.max(1, plaintextLength)).toString('base64url');
  const tag = randomBytes(16).toString('base64url');
  return `${HEADER}..${iv}.${body}.${tag}`;
}
