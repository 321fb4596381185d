import { redact } from '../config/redact.js';
import { AgentmemError, ProviderTimeoutError, ProviderUnavailableError, QueryError } from '../errors/index.js';

/** Node socket/DNS errors that mean "could not talk to the server". */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
]);

/**
 * SQLSTATEs that say nothing about the SQL: the session is gone, the server is
 * not accepting work, or it refuses us (class 28: a rotated password, pg_hba;
 * 3D000: the database is not there), or its disk is full (53100: it reads but
 * cannot write; nothing was written). Each is a provider failure to fail over
 * from and alert on, never the caller's error.
 */
function isConnectionSqlState(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('28') ||
    code === '3D000' ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '53300' ||
    code === '53100'
  );
}

const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /not queryable/i,
  /server closed the connection/i,
  /the server does not support ssl/i,
  /self[- ]signed certificate/i,
  /certificate/i,
  /socket hang up/i,
  /write after end/i,
];
const TIMEOUT_MESSAGES = [/query read timeout/i, /timeout exceeded when trying to connect/i, /connection timeout/i];

export type FailureClass = 'connection' | 'timeout' | 'sql';

export function classifyFailure(error: unknown): FailureClass {
  const err = error as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : String(error);
  if (TIMEOUT_MESSAGES.some((re) => re.test(message))) return 'timeout';
  // Errnos first: "EPIPE" has the shape of a SQLSTATE.
  if (CONNECTION_ERRNOS.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT/.test(code)) {
    return 'connection';
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) return isConnectionSqlState(code) ? 'connection' : 'sql';
  if (CONNECTION_MESSAGES.some((re) => re.test(message))) return 'connection';
  // Some socket errors reach us with the errno only in the message ("write EPIPE").
  if ([...CONNECTION_ERRNOS].some((errno) => message.includes(errno))) return 'connection';
  return 'sql';
}

/**
 * What a connection failure was, when the error says: `dns` (the host name
 * does not resolve: the system we replace went down on exactly that), `refused`
 * (nothing listens there), `network` (no route), `tls`, `auth` (class 28: a
 * password or pg_hba), `reset` (the server dropped the session), `disk-full`
 * (53100: it reads but cannot write).
 */
export type ConnectionCause = 'dns' | 'refused' | 'network' | 'tls' | 'auth' | 'reset' | 'disk-full';

const CAUSE_BY_ERRNO: Record<string, ConnectionCause> = {
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'network',
  EHOSTDOWN: 'network',
  ENETUNREACH: 'network',
  ENETDOWN: 'network',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
};

export function connectionCause(error: unknown): ConnectionCause | undefined {
  const err = error as { code?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (CAUSE_BY_ERRNO[code]) return CAUSE_BY_ERRNO[code];
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT/.test(code)) return 'tls';
  if (code.startsWith('28')) return 'auth';
  if (code === '53100') return 'disk-full';
  return undefined;
}

/** A connection failure's reason as people read it: a name that does not resolve, or a full disk, says so first. */
function connectionReason(error: unknown, message: string, cause: ConnectionCause | undefined): string {
  if (cause === 'disk-full') return `disk full: the server cannot write (${message})`;
  if (cause !== 'dns') return message;
  const host = (error as { hostname?: unknown }).hostname;
  const name = typeof host === 'string' ? host : 'its host';
  return (error as { code?: unknown }).code === 'EAI_AGAIN'
    ? `DNS: the lookup of ${name} failed (the resolver did not answer; ${message})`
    : `DNS: ${name} does not resolve (${message})`;
}

/** Turn whatever the driver threw into an AgentmemError of the right class, with secrets removed. */
export function toProviderError(provider: string, error: unknown, timeoutMs: number): AgentmemError {
  if (error instanceof AgentmemError) return error;
  const err = error as { code?: unknown; message?: unknown };
  const message = redact(typeof err?.message === 'string' ? err.message : String(error));
  switch (classifyFailure(error)) {
    case 'timeout':
      return new ProviderTimeoutError(provider, timeoutMs, /connect/i.test(message) ? 'a connection' : 'a query', { cause: error });
    case 'connection': {
      const reason = connectionCause(error);
      return new ProviderUnavailableError(provider, connectionReason(error, message, reason), { cause: error, reason });
    }
    default:
      return new QueryError(provider, message, typeof err?.code === 'string' ? err.code : undefined, { cause: error });
  }
}

/**
 * A failure while opening a connection. Whatever it is — refused, timed out,
 * authentication, TLS, a CA file that cannot be read (ENOENT) — no statement
 * ran, and the provider cannot serve: it is a provider failure.
 */
export function toConnectError(provider: string, error: unknown, timeoutMs: number, hint?: string): AgentmemError {
  if (hint)
    return new ProviderUnavailableError(provider, `cannot connect: ${redact(hint)}`, { cause: error, reason: connectionCause(error) });
  const classified = toProviderError(provider, error, timeoutMs);
  if (!(classified instanceof QueryError)) return classified;
  return new ProviderUnavailableError(provider, `cannot connect: ${classified.message.replace(`provider "${provider}": `, '')}`, {
    cause: error,
    reason: connectionCause(error),
  });
}

/**
 * The server cancelled the statement (SQLSTATE 57014): its statement_timeout
 * passed, or an operator cancelled it. The statement was too slow there and
 * then; the session and the SQL are fine.
 */
export function isStatementCancelled(error: unknown): boolean {
  return error instanceof QueryError && error.sqlState === '57014';
}

/** True for failures that say nothing about the SQL and may move a call to another provider. */
export function isConnectionFailure(error: unknown): boolean {
  return error instanceof ProviderUnavailableError || error instanceof ProviderTimeoutError;
}
