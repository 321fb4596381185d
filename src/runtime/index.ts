export { type CreateMemoryOptions, createMemory } from './create-memory.js';
export { type MemoryOptions, Runtime, type RuntimeOptions, type Worker } from './runtime.js';
