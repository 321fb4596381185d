#!/usr/bin/env node
// The CLI entry: the compiled code lives in dist/ (built by `npm install` via the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('agentmem: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// Exit explicitly: every pool and the embedded database are closed by now,
// and a stray timer must not keep a finished command alive.
process.exit(code);
