import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from './child-env.js';
import { ROOT } from './cli.js';

/** Each ```sh block of a Markdown document, with the heading it sits under (executable docs). */
export function shBlocks(markdown: string): { section: string; script: string }[] {
  const blocks: { section: string; script: string }[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heading = /^#+ (.+)$/.exec(line);
    if (heading) section = heading[1] as string;
    if (line.trim() === '```sh') {
      const body: string[] = [];
      while (++i < lines.length && (lines[i] as string).trim() !== '```') body.push(lines[i] as string);
      blocks.push({ section, script: body.join('\n') });
    }
  }
  return blocks;
}

/** A heading as a Markdown anchor (`## Undo a bad delete` → `undo-a-bad-delete`). */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

/** A directory with `agentmem` in it, as after `npm install -g agentmem` (the built CLI). */
export function agentmemOnPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'agentmem'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'agentmem.js')}" "$@"\n`);
  chmodSync(join(bin, 'agentmem'), 0o755);
  return bin;
}

/**
 * Run one block as an operator would paste it (`bash -euo pipefail`), with
 * `agentmem` on PATH and the given variables; undefined when it exits 0, else
 * what it printed.
 */
export function runShBlock(
  block: { section: string; script: string },
  index: number,
  options: { cwd: string; bin: string; env: Record<string, string>; timeoutMs?: number },
): string | undefined {
  // The docs write to /tmp for readability; run, their files go to the test run's directory.
  const script = block.script.replaceAll('/tmp/', `${tmpdir()}/`);
  const result = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script], {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: childEnv({ PATH: `${options.bin}:${process.env.PATH}`, ...options.env }),
  });
  if (result.status === 0) return undefined;
  return `block ${index + 1} (${block.section}) exited ${result.status}:\n${block.script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
