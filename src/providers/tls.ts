import { TLSSocket } from 'node:tls';

/** Loopback or a Unix socket: the only places a connection without TLS is acceptable by default. */
export function isLocalHost(host: string): boolean {
  return !host || host.startsWith('/') || /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i.test(host);
}

/** The host a postgres URL names (`?host=` for a socket directory). */
export function urlHost(url: string): string {
  try {
    const parsed = new URL(url);
    return decodeURIComponent(parsed.hostname || parsed.searchParams.get('host') || '');
  } catch {
    return '';
  }
}

/** The sslmode a URL asks for; `none` when it names none. */
export function sslMode(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.searchParams.get('sslmode') ?? (parsed.searchParams.get('ssl') === 'true' ? 'require' : 'none');
  } catch {
    return 'none';
  }
}

/**
 * The URL a pool connects with: a remote host without an sslmode gets
 * `sslmode=verify-full` (encrypted, certificate and host name checked against
 * the system's CAs, or `sslrootcert`). Loopback and sockets stay as written.
 */
export function withTlsDefault(url: string): string {
  if (sslMode(url) !== 'none' || isLocalHost(urlHost(url))) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to do about a TLS failure while connecting, or undefined when it is not one. */
export function tlsHint(error: unknown, url: string): string | undefined {
  const err = error as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  const host = urlHost(url);
  if (CERTIFICATE_CODES.has(code) || /certificate/i.test(message)) {
    return `the TLS certificate of ${host} could not be verified (${code || message}): give the CA that signed it with sslrootcert=/path/to/ca.pem in the URL`;
  }
  if (code === 'ENOENT' && /sslrootcert|\.pem|\.crt/i.test(`${message} ${url}`)) {
    return `the CA file named by sslrootcert cannot be read (${message.replace(/^ENOENT: /, '')})`;
  }
  if (/does not support ssl/i.test(message)) {
    return `${host} does not offer TLS: enable it on the server, or use sslmode=disable only on a private network`;
  }
  return undefined;
}

export interface TlsInfo {
  encrypted: boolean;
  protocol: string | null;
  cipher: string | null;
  /** The certificate chain and host name were verified by this client. */
  verified: boolean;
  verifyError: string | null;
  /** Subject and expiry of the server certificate. */
  subject: string | null;
  validTo: string | null;
}

/** What the handshake of an open connection established (a pg client's socket). */
export function tlsOf(socket: unknown): TlsInfo {
  if (!(socket instanceof TLSSocket)) {
    return { encrypted: false, protocol: null, cipher: null, verified: false, verifyError: null, subject: null, validTo: null };
  }
  const peer = socket.getPeerCertificate();
  return {
    encrypted: true,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? null,
    verified: socket.authorized,
    verifyError: socket.authorizationError ? String(socket.authorizationError) : null,
    subject: peer?.subject?.CN ?? null,
    validTo: peer?.valid_to ?? null,
  };
}
