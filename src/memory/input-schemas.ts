/**
 * The zod schemas the memory API validates its input with, for the shells
 * that describe that input to others (the HTTP API's OpenAPI document, the
 * MCP tools' input schemas): one definition, so a shell cannot accept what
 * the library refuses or document what it does not accept.
 */

export { atomSchema } from './atoms/input.js';
export { filterSchema as atomFilterSchema } from './atoms/rows.js';
export { searchSchema as atomSearchOptionsSchema } from './atoms/search.js';
export { contextSchema } from './context-assembly.js';
export { recallFilter as recallFilterSchema, rememberInput as rememberInputSchema } from './memories/memories.js';
export { memorySearchSchema, messageSearchSchema } from './recall/recall-input.js';
export { messageInput as messageInputSchema } from './sessions/message-model.js';
export {
  messagesFilter as messagesFilterSchema,
  sessionFilter as sessionFilterSchema,
  sessionInput as sessionInputSchema,
} from './sessions/sessions.js';
