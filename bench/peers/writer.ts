/**
 * A writing process to kill -9: writes `kill-<i>` one after another through
 * one side's own API and prints each write's marker once the call returned
 * (acknowledged). The parent kills it mid-batch and counts what is there.
 */
import { agentmemItems, agentmemMemories, langchainEmbeddings, libraries, openAgentmem, openLangGraphStore, openMem0 } from './systems.js';

const [system, url] = process.argv.slice(2) as [string, string];
const { lib, adapters } = await libraries();
const { embeddings } = langchainEmbeddings(lib);
let write: (marker: string) => Promise<unknown>;
if (system === 'agentmem') {
  const memories = agentmemMemories(await openAgentmem(lib, url));
  write = (marker) => memories.add('killed', marker);
} else if (system === 'agentmem-store') {
  const items = agentmemItems(adapters, await openAgentmem(lib, url));
  write = (marker) => items.put('killed', marker, marker);
} else if (system === 'mem0') {
  const mem0 = await openMem0(url, embeddings);
  write = (marker) => mem0.add('killed', marker);
} else {
  const store = await openLangGraphStore(url, embeddings);
  write = (marker) => store.put('killed', marker, marker);
}
process.stdout.write('ready\n');
for (let i = 0; i < 100_000; i++) {
  await write(`kill-${i}`);
  process.stdout.write(`kill-${i}\n`);
}
