import type { FastifyRequest } from 'fastify';
import type { AgentmemConfig } from '../../config/index.js';
import type { AgentMemory } from '../../memory/index.js';

export type ServerConfig = AgentmemConfig['server'];

/** The store of the calling key's tenant. */
export type StoreOf = (request: FastifyRequest) => AgentMemory;
