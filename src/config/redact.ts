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

/**
 * `redact()`, and whatever else looks like a credential: text after `Bearer`,
 * and any run of 20 or more letters, digits, `-` and `_` holding at least four
 * digits (API keys; a model's name such as text-embedding-3-small has fewer).
 * For messages from services whose keys agentmem never saw — a model
 * provider's error echoing the request — where a registered secret cannot
 * be matched.
 */
export function redactCredentials(text: string): string {
  return redact(text)
    .replace(/\b(bearer\s+)[^\s"',;]+/gi, `$1${REDACTED}`)
    .replace(/(?<![A-Za-z0-9_-])(?=(?:[A-Za-z_-]*\d){4})[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])/g, REDACTED);
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

/**
 * Register every part of a URL that may be a credential: the password, each
 * query value, and each path segment that looks like a token (8+ characters
 * with a digit, or 20+ characters). Webhook and bot URLs carry their secret in
 * the path or the query, and a receiver's error body may echo any part of it.
 */
export function registerUrlSecrets(url: string | undefined | null): void {
  if (!url) return;
  registerSecret(url);
  try {
    const parsed = new URL(url);
    registerSecret(parsed.password);
    registerSecret(decodeURIComponent(parsed.password));
    for (const value of parsed.searchParams.values()) if (value.length >= 6) registerSecret(value);
    for (const segment of parsed.pathname.split('/')) {
      const part = decodeURIComponent(segment);
      if ((part.length >= 8 && /\d/.test(part)) || part.length >= 20) {
        registerSecret(part);
        registerSecret(segment);
      }
    }
  } catch {
    /* not a URL: the whole string is registered */
  }
}
