import { AgentmemError, type ErrorCode } from '../errors/index.js';

/** HTTP status per error code; what is not listed is a 500. */
export const PROBLEM_STATUS: Partial<
  Record<ErrorCode | 'UNAUTHORIZED' | 'FORBIDDEN' | 'RATE_LIMITED' | 'TOO_LARGE' | 'BAD_REQUEST', number>
> = {
  VALIDATION: 400,
  USAGE: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  EMBEDDING_MISMATCH: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  EMBEDDER_FAILED: 502,
  MODEL_OUTPUT_REFUSED: 502,
  FORMATION_OFF: 501,
  PROVIDER_UNAVAILABLE: 503,
  PROVIDER_TIMEOUT: 503,
  OUTCOME_UNKNOWN: 503,
  NOT_DURABLE: 503,
  SCHEMA_DRIFT: 503,
  DATA_DIR_LOCKED: 503,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extra: string]: unknown;
}

/** An RFC 9457 problem: the stable error code as `code` and in `type`, the library's details beside it. */
export function problem(code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  const status = PROBLEM_STATUS[code as keyof typeof PROBLEM_STATUS] ?? 500;
  return {
    type: `urn:agentmem:problem:${code.toLowerCase()}`,
    title: code.replace(/_/g, ' ').toLowerCase(),
    status,
    detail,
    code,
    ...extra,
  };
}

/**
 * An error as a problem. Errors from outside the error model say only
 * "internal error" (their message may hold anything); Fastify's own request
 * errors (bad JSON, too large) keep their status.
 */
export function problemOf(error: unknown): Problem {
  if (error instanceof AgentmemError) return problem(error.code, error.message, error.details);
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem('TOO_LARGE', 'the request body is larger than the server accepts');
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const code = fastify.statusCode === 429 ? 'RATE_LIMITED' : fastify.statusCode === 413 ? 'TOO_LARGE' : 'BAD_REQUEST';
    return { ...problem(code, fastify.message ?? 'bad request'), status: fastify.statusCode };
  }
  return problem('INTERNAL', 'internal error');
}
