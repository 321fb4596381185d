import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from './child-env.js';
import { ROOT } from './cli.js';

export interface ShBlock {
  section: string;
  /** Which block of its section (1 for the first). */
  nth: number;
  script: string;
  /**
   * The exit code the block must end with: 0, or what its opening line says
   * (```sh expect-exit=3): a diagnosis run during the failure it is for exits
   * non-zero, and the doc says which code instead of hiding it behind `|| true`.
   */
  expectExit: number;
}

/** Each ```sh block of a Markdown document, with the heading it sits under (executable docs). */
export function shBlocks(markdown: string): ShBlock[] {
  const blocks: ShBlock[] = [];
  let section = '';
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heading = /^#+ (.+)$/.exec(line);
    if (heading) section = heading[1] as string;
    const open = /^```sh(?: expect-exit=(\d+))?$/.exec(line.trim());
    if (open) {
      const body: string[] = [];
      while (++i < lines.length && (lines[i] as string).trim() !== '```') body.push(lines[i] as string);
      const nth = blocks.filter((b) => b.section === section).length + 1;
      blocks.push({ section, nth, script: body.join('\n'), expectExit: Number(open[1] ?? 0) });
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
 * `agentmem` on PATH and the given variables; undefined when it exits with
 * the code it should (0 unless the block says), else what it printed.
 */
export function runShBlock(
  block: ShBlock,
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
  if (result.status === block.expectExit) return undefined;
  return `block ${index + 1} (${block.section}) exited ${result.status}, not ${block.expectExit}:\n${block.script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
