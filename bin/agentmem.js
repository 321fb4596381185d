#!/usr/bin/env node
// The CLI entry: the compiled code lives in dist/ (built by `npm install` via the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('agentmem: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
// Output piped into a reader that stops early (`agentmem … | head`): the rest is not wanted, not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
const { main } = await import(entry.href);
const code = await main(process.argv);
// Exit explicitly: every pool and the embedded database are closed by now,
// and a stray timer must not keep a finished command alive.
process.exit(code);
