/**
 * A writing process to kill -9: writes `kill-<i>` one after another through
 * one side's own API and prints each write's marker once the call returned
 * (acknowledged; for a checkpoint, its id). The parent kills it mid-batch and
 * counts what is there.
 */
import {
  agentmemCheckpoints,
  agentmemItems,
  agentmemMemories,
  agentmemMessages,
  langchainEmbeddings,
  libraries,
  openAgentmem,
  openLangChainHistory,
  openLangGraphSaver,
  openLangGraphStore,
  openMem0,
} from './systems.js';

const [system, url] = process.argv.slice(2) as [string, string];
const { lib, adapters } = await libraries();
const { embeddings } = langchainEmbeddings(lib);
/** A write whose marker is what identifies it in the database. */
const marked =
  (fn: (marker: string) => Promise<unknown>) =>
  async (marker: string): Promise<string> => {
    await fn(marker);
    return marker;
  };
/** Writes one; what identifies it in the database (the marker, or a checkpoint's id). */
let write: (marker: string, i: number) => Promise<string>;
if (system === 'agentmem') {
  const memories = agentmemMemories(await openAgentmem(lib, url));
  write = marked((marker) => memories.add('killed', marker));
} else if (system === 'agentmem-store') {
  const items = agentmemItems(adapters, await openAgentmem(lib, url));
  write = marked((marker) => items.put('killed', marker, marker));
} else if (system === 'mem0') {
  const mem0 = await openMem0(url, embeddings);
  write = marked((marker) => mem0.add('killed', marker));
} else if (system === 'agentmem-messages') {
  const messages = agentmemMessages(await openAgentmem(lib, url, 'off'));
  write = marked((marker) => messages.append('killed', marker));
} else if (system === 'langchain') {
  const history = openLangChainHistory(url);
  write = marked((marker) => history.append('killed', marker));
} else if (system === 'agentmem-checkpoints') {
  const saver = agentmemCheckpoints(adapters, await openAgentmem(lib, url, 'off'));
  write = (_marker, i) => saver.put('killed', i);
} else if (system === 'langgraph-saver') {
  const saver = await openLangGraphSaver(url);
  write = (_marker, i) => saver.put('killed', i);
} else {
  const store = await openLangGraphStore(url, embeddings);
  write = marked((marker) => store.put('killed', marker, marker));
}
process.stdout.write('ready\n');
for (let i = 0; i < 100_000; i++) {
  process.stdout.write(`ack ${await write(`kill-${i}`, i)}\n`);
}
