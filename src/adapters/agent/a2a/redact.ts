/**
 * Text that may reach an error message or a log line: agent bodies and URLs, with credentials
 * removed and length capped, so a misbehaving server cannot echo a token into our logs.
 */

const SECRET_PATTERNS: readonly RegExp[] = [
  /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /("?(?:authorization|access_token|refresh_token|id_token|client_secret|obo_token|password|api_key)"?\s*[:=]\s*"?)[^"\s,}&]+/gi,
];

export function redactText(text: string, secrets: readonly string[] = [], max = 200): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '$1[redacted]');
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** The URL without user info, query or fragment: safe to name in errors. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid agent URL)';
  }
}
