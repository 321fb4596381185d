/**
 * Secrets never leave the process. Every password the config loader sees is
 * registered here, and every string that goes to a terminal, a log or a JSON
 * document passes through `redact()` on its way out.
 */
const secrets = new Set<string>();
export const REDACTED = '***';

export function registerSecret(secret: string | undefined | null): void {
  if (!secret || secret.length < 3) return;
  secrets.add(secret);
  for (const form of [encodeURIComponent(secret), safeDecode(secret)]) {
    if (form && form.length >= 3) secrets.add(form);
  }
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Replace every registered secret, and any password inside a URL, with ***. */
export function redact(text: string): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@\s/]+)(@)/gi, `$1${REDACTED}$3`);
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A connection URL with its password replaced, for display. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = REDACTED;
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, REDACTED);
    }
    return redact(parsed.toString());
  } catch {
    return redact(url);
  }
}

/** Deep-copy a JSON-able value with every string redacted. */
export function redactDeep<T>(value: T): T {
  return JSON.parse(redact(JSON.stringify(value))) as T;
}
