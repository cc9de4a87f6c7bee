/**
 * Secrets kept out of text that leaves the process (log lines, start-up errors): every form a
 * configured secret can take once it has been serialized, plus credentials of any kind that look
 * like credentials.
 *
 * A secret is matched as written, JSON-escaped (a secret with `"` or `\` inside a JSON log line),
 * percent-encoded (inside a URL or a form body) and, for a URI such as `MONGODB_URI`, the
 * password in its user info on its own (drivers print hosts and options, and may quote the
 * password alone). Independently of configuration, the user info of every `scheme://user:pass@`
 * URI is masked, and `Bearer …` credentials too.
 */

export const MASK = '[redacted]';

/** Shorter values are not matched on their own: they would mask ordinary words. */
const MIN_SECRET_CHARS = 4;

const BEARER = /\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]+/gi;
/** `scheme://userinfo@`: the scheme, an optional user name, the rest of the user info. */
const URI_USERINFO = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([^\s:/?#@"'\\<>]*)(:[^\s/?#@"'\\<>]*)?@/gi;

/** The password inside a URI's user info (`scheme://user:password@…`), percent-decoded and raw. */
function uriPasswords(value: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(value.trim());
  const userinfo = match?.[1];
  if (!userinfo) return [];
  const colon = userinfo.indexOf(':');
  const password = colon >= 0 ? userinfo.slice(colon + 1) : userinfo;
  const forms = [password];
  try {
    forms.push(decodeURIComponent(password));
  } catch {
    // not valid percent-encoding: the raw form is enough
  }
  return forms;
}

/** Every form of each secret to look for, longest first (so a longer form is masked whole). */
export function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    for (const base of [secret, ...uriPasswords(secret)]) {
      if (base.length < MIN_SECRET_CHARS) continue;
      forms.add(base);
      forms.add(JSON.stringify(base).slice(1, -1));
      // Escaped twice: a JSON string holding a JSON document (an error body quoted in a log line).
      forms.add(JSON.stringify(JSON.stringify(base).slice(1, -1)).slice(1, -1));
      forms.add(encodeURIComponent(base));
    }
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_CHARS).sort((a, b) => b.length - a.length);
}

/** `text` with credentials masked; `forms` comes from {@link secretForms}. */
export function scrubText(text: string, forms: readonly string[]): string {
  let out = text.replace(BEARER, `$1$2${MASK}`);
  out = out.replace(URI_USERINFO, (_match, scheme: string, user: string, password: string | undefined) =>
    password !== undefined ? `${scheme}${user}:${MASK}@` : `${scheme}${MASK}@`,
  );
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(MASK);
  return out;
}
