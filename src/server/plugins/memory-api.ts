/**
 * The memory API over HTTP: sessions and their messages, memories, knowledge
 * atoms and settings, each handler a shell over the library, run as the
 * calling key's tenant.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { idForKey } from '../../core/ids.js';
import { NotFoundError, ValidationError } from '../../errors/index.js';
import type { MessageInput } from '../../memory/index.js';
import { parseInput } from '../../memory/validation.js';
import { KEYS_CATEGORY } from '../keys.js';
import { registerRoutes } from '../register.js';
import { body, idempotentId, orNotFound, param, queryOf, searchBody } from '../request.js';
import { ROUTES } from '../routes.js';
import type { StoreOf } from './types.js';

/** Settings, without the API keys' own records. */
const notKeys = (category: string) => {
  if (category === KEYS_CATEGORY) throw new NotFoundError(`no setting category ${category}`);
  return category;
};

export const memoryApi: FastifyPluginAsync<{ store: StoreOf }> = async (app, { store }) => {
  const oneSetting = async (request: FastifyRequest) => {
    const category = notKeys(param(request, 'category'));
    const key = param(request, 'key');
    const found = (await store(request).settings.list(category)).find((s) => s.key === key);
    if (!found) throw new NotFoundError(`no setting ${category}.${key}`);
    return found;
  };

  registerRoutes(app, {
    createSession: async (request, reply) => {
      const input = body(request);
      const id = input.id ?? (input.externalId === undefined ? idempotentId(request, 'session') : undefined);
      return reply.status(201).send(await store(request).sessions.create({ ...input, ...(id ? { id: id as string } : {}) } as never));
    },
    listSessions: async (request) => ({
      items: await store(request).sessions.list(queryOf(request, ROUTES.listSessions.query) as never),
    }),
    getSession: async (request) => orNotFound(await store(request).sessions.get(param(request, 'id')), 'session', request),
    deleteSession: async (request, reply) => {
      orNotFound(await store(request).sessions.delete(param(request, 'id')), 'session', request);
      return reply.status(204).send();
    },
    appendMessages: async (request, reply) => {
      const input = body(request);
      const sessionId = param(request, 'id');
      if (Array.isArray(input.messages)) {
        const base = idempotentId(request, `messages:${sessionId}`);
        const messages = (input.messages as MessageInput[]).map((m, i) =>
          base && typeof m === 'object' && m && !m.id && !m.externalId ? { ...m, id: idForKey('', 'http-batch', `${base}:${i}`) } : m,
        );
        return reply.status(201).send(await store(request).sessions.addMessages(sessionId, messages));
      }
      const id = input.id ?? (input.externalId === undefined ? idempotentId(request, `message:${sessionId}`) : undefined);
      const message = await store(request).sessions.addMessage(sessionId, {
        ...(input as MessageInput),
        ...(id ? { id: id as string } : {}),
      });
      return reply.status(201).send({ items: [message] });
    },
    getMessages: async (request) => ({
      items: await store(request).sessions.getMessages(param(request, 'id'), queryOf(request, ROUTES.getMessages.query) as never),
    }),
    exportSession: async (request) => {
      const { format, asOf } = parseInput(ROUTES.exportSession.query, queryOf(request, ROUTES.exportSession.query), 'query');
      return store(request).sessions.export(param(request, 'id'), format, asOf ? { asOf } : {});
    },

    remember: async (request, reply) => {
      const input = body(request);
      const id = input.id ?? idempotentId(request, 'memory');
      const stored = await store(request).memories.rememberAndRead({ ...input, ...(id ? { id } : {}) } as never);
      // 200: the same fact was already remembered (the existing memory comes back); 201: stored.
      return reply.status(stored.duplicate ? 200 : 201).send(stored.memory);
    },
    recall: async (request) => ({ items: await store(request).memories.recall(body(request)) }),
    searchMemories: async (request) => {
      const { text, options } = searchBody(request);
      return store(request).memories.search(text, options);
    },
    searchMessages: async (request) => {
      const { text, options } = searchBody(request);
      return store(request).sessions.searchMessages(text, options);
    },
    context: async (request) => store(request).context(body(request) as never),
    getWorkingMemory: async (request) => store(request).workingMemory.get(body(request).scope as never),
    updateWorkingMemory: async (request) => {
      const { scope, patch } = body(request);
      return store(request).workingMemory.update(scope as never, patch as never);
    },
    extractSession: async (request) => store(request).extract(param(request, 'id')),
    summarizeSession: async (request) => store(request).summarize(param(request, 'id')),
    getMemory: async (request) => orNotFound(await store(request).memories.get(param(request, 'id')), 'memory', request),
    forget: async (request, reply) => {
      orNotFound(await store(request).memories.forget(param(request, 'id')), 'memory', request);
      return reply.status(204).send();
    },

    upsertAtoms: async (request) => {
      const input = body(request);
      if (!Array.isArray(input.atoms)) throw new ValidationError('atoms: expected an array of knowledge atoms');
      return store(request).atoms.upsert(input.atoms as never);
    },
    searchAtoms: async (request) => {
      const { text, options } = searchBody(request);
      return store(request).atoms.search(text, options);
    },
    getAtom: async (request) => orNotFound(await store(request).atoms.get(param(request, 'id')), 'atom', request),

    listSettings: async (request) => ({
      items: (await store(request).settings.list()).filter((s) => s.category !== KEYS_CATEGORY),
    }),
    getSetting: oneSetting,
    putSetting: async (request) => {
      const input = body(request);
      if (!('value' in input)) throw new ValidationError('value: required');
      if (input.description !== undefined && typeof input.description !== 'string')
        throw new ValidationError('description: expected a string');
      await store(request).settings.set(
        notKeys(param(request, 'category')),
        param(request, 'key'),
        input.value,
        input.description as string | undefined,
      );
      return oneSetting(request);
    },
  });
};
