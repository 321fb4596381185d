import { AgentmemError, type ErrorCode, UsageError } from '../errors/index.js';
import type { AgentMemory } from '../memory/index.js';
import { ROUTES, type Route, type RouteName, routeUrl } from '../server/routes.js';

/** Fields the API sends as ISO strings that the library's objects hold as Dates. */
const DATE_FIELDS = new Set(['startedAt', 'endedAt', 'createdAt', 'updatedAt', 'expiresAt', 'lastValidatedAt']);

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, DATE_FIELDS.has(key) && typeof v === 'string' ? new Date(v) : revive(v)]),
    );
  }
  return value;
}

/**
 * The memory commands of the CLI acting through a running `agentmem serve`
 * (`--server URL` or AGENTMEM_SERVER, with AGENTMEM_API_KEY): what the
 * embedded default needs while serve holds its data directory. It offers the
 * part of the memory API the HTTP API serves; anything else says so.
 */
export function remoteMemory(server: string, key: string | undefined): AgentMemory {
  if (!key) throw new UsageError('--server needs an API key: set AGENTMEM_API_KEY (agentmem keys create, on the serving machine)');
  const base = server.replace(/\/+$/, '');
  /** A route of the server's table, by name: its method and path (parameters filled in) come from there. */
  const call = async (name: RouteName, params: Record<string, string> = {}, body?: unknown, search = ''): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(`${base}${routeUrl(name, params)}${search}`, {
        method: (ROUTES[name] as Route).method.toUpperCase(),
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new AgentmemError('PROVIDER_UNAVAILABLE', `cannot reach the agentmem server at ${base}: ${(error as Error).message}`);
    }
    if (response.status === 204) return undefined;
    const text = await response.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const problem = (data ?? {}) as { code?: string; detail?: string };
      throw new AgentmemError((problem.code ?? 'INTERNAL') as ErrorCode, problem.detail ?? `HTTP ${response.status}`);
    }
    return revive(data);
  };
  const query = (params: Record<string, unknown>) => {
    const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null);
    const asText = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
    return entries.length ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, asText(v)])).toString()}` : '';
  };
  const parts = {
    sessions: {
      list: async (filter: Record<string, unknown> = {}) =>
        ((await call('listSessions', {}, undefined, query(filter))) as { items: unknown[] }).items,
      load: async (id: string, options: { asOf?: unknown } = {}) => {
        if (options.asOf !== undefined) throw new UsageError('--as-of is not available through --server');
        try {
          const session = await call('getSession', { id });
          const { items } = (await call('getMessages', { id })) as { items: unknown[] };
          return { session, messages: items };
        } catch (error) {
          if ((error as AgentmemError).code === 'NOT_FOUND') return null;
          throw error;
        }
      },
      export: (id: string, format = 'agentmem', options: { asOf?: unknown } = {}) => {
        if (options.asOf !== undefined) throw new UsageError('--as-of is not available through --server');
        return call('exportSession', { id }, undefined, query({ format }));
      },
    },
    memories: {
      remember: async (input: unknown) => ((await call('remember', {}, input)) as { id: string }).id,
      recall: async (filter: Record<string, unknown> = {}) => {
        if (filter.asOf !== undefined) throw new UsageError('--as-of is not available through --server');
        return ((await call('recall', {}, filter)) as { items: unknown[] }).items;
      },
    },
    atoms: {
      search: (text: string, options: Record<string, unknown> = {}) => call('searchAtoms', {}, { query: text, ...options }),
    },
    workingMemory: {
      get: (scope: unknown) => call('getWorkingMemory', {}, { scope }),
      update: (scope: unknown, patch: unknown) => call('updateWorkingMemory', {}, { scope, patch }),
    },
    settings: {
      get: async (category: string, key: string) => {
        try {
          return ((await call('getSetting', { category, key })) as { value: unknown }).value;
        } catch (error) {
          if ((error as AgentmemError).code === 'NOT_FOUND') return undefined;
          throw error;
        }
      },
      set: async (category: string, key: string, value: unknown, description?: string) => {
        await call(
          'putSetting',
          { category, key },
          {
            value,
            ...(description === undefined ? {} : { description }),
          },
        );
      },
      list: async (category?: string) =>
        ((await call('listSettings')) as { items: { category: string }[] }).items.filter((s) => !category || s.category === category),
    },
  };
  // What the HTTP API does not serve fails with a clear message instead of "is not a function".
  const guarded = (name: string, part: Record<string, unknown>) =>
    new Proxy(part, {
      get(target, property) {
        if (typeof property === 'symbol' || property in target) return target[property as string];
        throw new UsageError(`${name}.${property} is not available through --server; stop agentmem serve to run it here`);
      },
    });
  const memory = {
    sessions: guarded('sessions', parts.sessions),
    memories: guarded('memories', parts.memories),
    atoms: guarded('atoms', parts.atoms),
    workingMemory: guarded('workingMemory', parts.workingMemory),
    settings: guarded('settings', parts.settings),
    close: async () => undefined,
  };
  return guarded('memory', memory) as unknown as AgentMemory;
}
