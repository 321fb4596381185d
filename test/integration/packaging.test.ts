/**
 * The package as a user gets it: `npm pack`, the tarball installed into a
 * blank project (with the framework peers a user of the adapters has), then
 * what the README promises — its library example, `npx agentmem demo`, the
 * adapters' imports, a TypeScript user file under `node16` and `bundler`
 * resolution — and what it must not do: weigh more than 60 MB installed, or
 * fail publint or arethetypeswrong. The server's packages are optional: without
 * them `agentmem serve` says what to install, as the `openai` embedder does.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
/** The frameworks a user of the adapters installs (and Node's types, as any TypeScript project on Node has), at the versions the repository tests (so npm finds them in its cache). */
const PEERS = ['@langchain/core', '@langchain/langgraph-checkpoint', 'ai', '@types/node'].map(
  (name) => `${name}@${manifest.devDependencies[name]}`,
);

// A user's shell: this Node first on PATH, no npm_config_* or AGENTMEM_* inherited from the test run.
const env: NodeJS.ProcessEnv = {
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  HOME: process.env.HOME,
  TMPDIR: process.env.TMPDIR,
  NO_UPDATE_NOTIFIER: '1',
};
const options = { env, maxBuffer: 64 * 1024 * 1024 };

let tarball: string;
let project: string;

/** Bytes of a directory tree, as `du` would add the files up. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** The README's code blocks marked `runnable` in their language tag. */
function runnableBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`${language} runnable\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((m) => m[1] as string);
}

beforeAll(async () => {
  const packed = mkdtempSync(join(tmpdir(), 'agentmem-pack-'));
  // The build is the test run's own (global setup); packing does not build again.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packed], { ...options, cwd: ROOT });
  tarball = join(packed, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  project = mkdtempSync(join(tmpdir(), 'agentmem-user-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  await run('npm', ['install', tarball, ...PEERS, '--no-audit', '--no-fund', '--prefer-offline'], { ...options, cwd: project });
}, 300_000);

describe('the package, installed into a blank project', () => {
  it('installs light: agentmem and its dependencies under 60 MB on disk (the frameworks the user brings not counted)', async () => {
    const blank = mkdtempSync(join(tmpdir(), 'agentmem-weight-'));
    writeFileSync(join(blank, 'package.json'), JSON.stringify({ name: 'weight', private: true, type: 'module' }));
    await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { ...options, cwd: blank });
    const megabytes = treeBytes(join(blank, 'node_modules')) / 1e6;
    console.info(`agentmem ${manifest.version} installed: ${megabytes.toFixed(1)} MB of node_modules`);
    expect(megabytes).toBeLessThan(60);
    // No self-dependency, no second copy of the migrations, one version source.
    const installed = JSON.parse(readFileSync(join(blank, 'node_modules/agentmem/package.json'), 'utf8'));
    expect(installed.dependencies.agentmem).toBeUndefined();
    expect(statSync(join(blank, 'node_modules/agentmem/src'), { throwIfNoEntry: false })).toBeUndefined();
    const { stdout } = await run(join(blank, 'node_modules/.bin/agentmem'), ['--version'], { ...options, cwd: blank });
    expect(stdout.trim()).toBe(manifest.version);
  });

  it('publint and arethetypeswrong (ESM-only profile) find nothing wrong', async () => {
    const lint = await run(bin('publint'), ['run', tarball, '--level', 'warning'], options);
    expect(lint.stdout).toContain('All good');
    // attw exits non-zero on a problem the profile does not ignore (ESM-only: no CommonJS or node10 resolution).
    const types = await run(bin('attw'), [tarball, '--profile', 'esm-only'], options).catch(
      (failed: { code: number; stdout: string }) => failed,
    );
    expect((types as { code?: number }).code ?? 0, types.stdout).toBe(0);
  });

  it("runs the README's library example on the embedded default", async () => {
    const [example] = runnableBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'ts');
    expect(example, 'README has a ```ts runnable block').toBeDefined();
    const dir = join(project, 'library-example');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'example.mjs'), example as string);
    const { stderr } = await run(process.execPath, ['example.mjs'], { ...options, cwd: dir });
    expect(stderr).toBe('');
  });

  it('npx agentmem demo runs; agentmem serve without the server packages names them and exits 2', async () => {
    const dir = join(project, 'demo');
    mkdirSync(dir, { recursive: true });
    const demo = await run('npx', ['agentmem', 'demo'], { ...options, cwd: dir });
    expect(demo.stdout).toMatch(/hybrid/i);
    const serve = await run('npx', ['agentmem', 'serve', '--port', '0'], { ...options, cwd: dir }).catch(
      (failed: { code: number; stderr: string }) => failed,
    );
    expect((serve as { code?: number }).code).toBe(2);
    expect(serve.stderr).toContain('npm install fastify');
  });

  it('embedder.kind openai without its AI SDK provider package names it, in the error and in status and doctor (nothing is sent anywhere)', async () => {
    const probe = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { OpenAIEmbedder } = await import('agentmem/ops'); const e = new OpenAIEmbedder({ baseUrl: 'http://127.0.0.1:9', model: 'm', dimensions: 3 }); await e.embed(['x']).catch((error) => console.log(error.code, error.message));",
      ],
      { ...options, cwd: project },
    );
    expect(probe.stdout).toContain('DEPENDENCY_MISSING');
    expect(probe.stdout).toContain('npm install ai @ai-sdk/openai-compatible');
    // status and doctor say so before any embed fails (this project has `ai`, as an AI SDK user does).
    const dir = join(project, 'openai-embedder');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'agentmem.config.json'), JSON.stringify({ embedder: { kind: 'openai', dimensions: 1536 } }));
    const status = await run('npx', ['agentmem', 'status', '--json'], { ...options, cwd: dir });
    expect(JSON.parse(status.stdout).embedder).toMatchObject({ kind: 'openai', missingPackages: ['@ai-sdk/openai-compatible'] });
    const doctor = await run('npx', ['agentmem', 'doctor'], { ...options, cwd: dir }).catch((failed: { stdout: string }) => failed);
    expect(doctor.stdout).toContain('the embedder needs @ai-sdk/openai-compatible: npm install @ai-sdk/openai-compatible');
  });

  it('the adapters import, and a TypeScript user file type-checks with node16 and with bundler resolution', async () => {
    const imports = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "for (const m of ['agentmem', 'agentmem/ops', 'agentmem/langchain', 'agentmem/langgraph', 'agentmem/ai-sdk']) await import(m); console.log('ok')",
      ],
      { ...options, cwd: project },
    );
    expect(imports.stdout.trim()).toBe('ok');
    writeFileSync(
      join(project, 'user.ts'),
      [
        "import { type AgentMemory, createMemory, ValidationError } from 'agentmem';",
        "import { checkHealth } from 'agentmem/ops';",
        "import { AgentmemChatMessageHistory } from 'agentmem/langchain';",
        "import { AgentmemSaver, AgentmemStore } from 'agentmem/langgraph';",
        "import { agentmemTools } from 'agentmem/ai-sdk';",
        "const memory: AgentMemory = await createMemory({ tenant: 'acme' });",
        "const session = await memory.sessions.create({ userId: 'u-1' });",
        "await memory.sessions.addMessage(session.id, { role: 'user', content: 'hello' });",
        'const store = new AgentmemStore({ memory });',
        'const saver = new AgentmemSaver({ memory });',
        'const history = new AgentmemChatMessageHistory({ memory, sessionId: session.id });',
        "const tools = agentmemTools({ memory, scope: 'u-1' });",
        'export const used = [store, saver, history, tools, checkHealth, ValidationError instanceof Function];',
        'await memory.close();',
      ].join('\n'),
    );
    for (const [module, moduleResolution] of [
      ['node16', 'node16'],
      ['esnext', 'bundler'],
    ] as const) {
      writeFileSync(
        join(project, `tsconfig.${moduleResolution}.json`),
        JSON.stringify({
          compilerOptions: { strict: true, noEmit: true, target: 'es2022', module, moduleResolution, skipLibCheck: false, types: ['node'] },
          files: ['user.ts'],
        }),
      );
      const checked = await run(bin('tsc'), ['-p', `tsconfig.${moduleResolution}.json`], { ...options, cwd: project }).catch(
        (failed: { stdout: string }) => failed,
      );
      // With skipLibCheck off, every declaration file is checked: ours and the user's file must be clean (a framework's
      // own declarations, e.g. ai's need of @types/json-schema, are that framework's to answer for).
      const ours = checked.stdout.split('\n').filter((line) => /^(user\.ts|node_modules\/agentmem\/)/.test(line));
      expect(ours, moduleResolution).toEqual([]);
    }
  });
});
