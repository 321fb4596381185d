/**
 * Docs that cannot rot: every `agentmem …` command line in README.md and
 * docs/ — in shell blocks and in inline code — is parsed against the CLI as
 * built (its commander program): an unknown command or flag fails. Values,
 * ids and placeholders are not checked, only the words the CLI defines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

const ROOT = join(import.meta.dirname, '../..');

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return [join(ROOT, 'README.md'), ...walk(join(ROOT, 'docs'))];
}

/** Shell-like words: quotes group, a backslash-newline continues. */
function words(line: string): string[] {
  return [...line.matchAll(/'[^']*'|"(?:\\.|[^"])*"|[^\s'"]+/g)].map((m) => m[0]);
}

/** The `agentmem …` invocations of a shell line: each command of a pipeline or list, comments and env assignments gone. */
function invocations(line: string): string[][] {
  const code = line.replace(/(^|\s)#.*$/, '');
  const found: string[][] = [];
  for (const segment of code.split(/\|\||&&|;|\|(?!\w)|\$\(/)) {
    const tokens = words(segment.trim().replace(/^\$\s+/, ''));
    while (tokens.length && /^[A-Z_][A-Z0-9_]*=/.test(tokens[0] as string)) tokens.shift();
    if (['npx', 'sudo', 'exec', 'time'].includes(tokens[0] as string)) tokens.shift();
    if (tokens[0] !== 'agentmem') continue;
    // Stop at redirections and subshell ends.
    const end = tokens.findIndex((t) => /^[0-9]?[<>]|^\)$/.test(t));
    found.push(tokens.slice(1, end < 0 ? undefined : end));
  }
  return found;
}

/** Every agentmem command line of a Markdown document: in shell code blocks, and in inline code. */
function commandLines(markdown: string): { line: string; args: string[] }[] {
  const out: { line: string; args: string[] }[] = [];
  const lines = markdown.split('\n');
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const opening = /^\s*```(\w*)/.exec(line);
    if (opening) {
      fence = fence === undefined ? (opening[1] ?? '') : undefined;
      continue;
    }
    if (fence !== undefined) {
      if (!['sh', 'bash', 'shell', 'console', ''].includes(fence)) continue;
      let joined = line;
      while (joined.endsWith('\\') && i + 1 < lines.length) joined = `${joined.slice(0, -1)} ${lines[++i]}`;
      for (const args of invocations(joined)) out.push({ line: joined.trim(), args });
      continue;
    }
    for (const span of line.matchAll(/`(agentmem [^`]+)`/g)) {
      // A table cell escapes `|`; `[--user U | --session S]` marks optional parts: their words are checked all the same.
      const text = (span[1] as string).replace(/\\\|/g, '|');
      const tokens = words(text.replace(/[[\]]/g, ' '))
        .slice(1)
        .filter((t) => t !== '|');
      for (const args of alternatives(tokens)) out.push({ line: text, args });
    }
  }
  return out;
}

/** `session list|show` written for two command lines: each spelled out. */
function alternatives(tokens: string[]): string[][] {
  const at = tokens.findIndex((t) => t.includes('|') && !t.startsWith('-'));
  if (at < 0) return [tokens];
  return (tokens[at] as string).split('|').flatMap((word) => alternatives([...tokens.slice(0, at), word, ...tokens.slice(at + 1)]));
}

const takesValue = (o: Option) => o.required || o.optional;
const named = (o: Option, flag: string) => o.long === flag || o.short === flag;

/** What is wrong with an agentmem command line, or undefined: an unknown command or an unknown flag. */
function check(program: Command, args: string[]): string | undefined {
  let command = program;
  const path: Command[] = [program];
  let positional = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (/^(…|\.\.\.)$/.test(arg)) continue;
    if (arg.startsWith('-') && arg !== '-') {
      const flag = arg.split('=')[0] as string;
      if (['--help', '-h'].includes(flag) || (command === program && ['--version', '-V'].includes(flag))) continue;
      const option = path
        .flatMap((c) => c.options as Option[])
        .reverse()
        .find((o) => named(o, flag));
      if (!option)
        return `unknown flag ${flag} for "agentmem ${path
          .slice(1)
          .map((c) => c.name())
          .join(' ')}"`;
      if (takesValue(option) && !arg.includes('=')) i++;
      continue;
    }
    if (positional) continue;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub) {
      command = sub;
      path.push(sub);
      continue;
    }
    // A word that is no subcommand: an argument of a command that takes them; else an unknown command.
    const accepts = (command as unknown as { registeredArguments: unknown[] }).registeredArguments.length > 0;
    if (command.commands.length && !accepts)
      return `unknown command "${arg}" after "agentmem ${path
        .slice(1)
        .map((c) => c.name())
        .join(' ')}"`;
    if (!accepts && !/^[<[A-Z$'"]/.test(arg))
      return `"agentmem ${path
        .slice(1)
        .map((c) => c.name())
        .join(' ')}" takes no argument, got "${arg}"`;
    positional = true;
  }
  if (command.commands.length && !(command as unknown as { _actionHandler?: unknown })._actionHandler && args.length)
    return `"agentmem ${path
      .slice(1)
      .map((c) => c.name())
      .join(' ')}" needs a subcommand (${command.commands.map((c) => c.name()).join(', ')})`;
  return undefined;
}

describe('agentmem command lines in the docs', () => {
  const program = buildProgram();

  it('finds them (the parser reads shell blocks and inline code)', () => {
    expect(invocations('npx agentmem demo')).toEqual([['demo']]);
    expect(invocations('AGENTMEM_API_KEY=x agentmem memory list --json | jq . && agentmem health # check')).toEqual([
      ['memory', 'list', '--json'],
      ['health'],
    ]);
    const lines = markdownFiles().flatMap((file) => commandLines(readFileSync(file, 'utf8')));
    expect(lines.length).toBeGreaterThan(50);
  });

  it('the checker refuses what the CLI refuses', () => {
    expect(check(program, ['memory', 'add', '--text', 'x'])).toMatch(/unknown flag --text/);
    expect(check(program, ['backups', 'prune'])).toMatch(/unknown command "backups"/);
    expect(check(program, ['memory', 'add', '--content', 'x', '--tenant', 'acme'])).toBeUndefined();
  });

  for (const file of markdownFiles()) {
    it(`every one in ${relative(ROOT, file)} names a command and flags the CLI has`, () => {
      const wrong = commandLines(readFileSync(file, 'utf8'))
        .map(({ line, args }) => ({ line, problem: check(program, args) }))
        .filter((c) => c.problem)
        .map((c) => `${c.problem}: ${c.line}`);
      expect(wrong).toEqual([]);
    });
  }
});
