import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from './child-env.js';
import { ROOT } from './cli.js';
import type { Ledger, WorkloadSpec } from './workload.js';

export interface WorkloadRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The ledger the workload wrote; undefined when it never got that far (it crashed). */
  ledger: Ledger | undefined;
}

/**
 * Run test/harness/workload.ts in a process of its own. Any unhandled error
 * there ends it with a non-zero code (nothing catches it as a test runner
 * would), so a caller checks `code === 0` for crash-freedom. Killed after
 * `timeoutMs`: a hang is a failure too.
 */
export function runWorkload(spec: Omit<WorkloadSpec, 'ledger'>, timeoutMs = spec.durationMs + 60_000): Promise<WorkloadRun> {
  const ledgerFile = join(mkdtempSync(join(tmpdir(), 'agentmem-ledger-')), 'ledger.json');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test', 'harness', 'workload.ts'), JSON.stringify({ ...spec, ledger: ledgerFile })],
    {
      cwd: ROOT,
      env: childEnv({ AGENTMEM_LOG_LEVEL: 'error' }),
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      let ledger: Ledger | undefined;
      try {
        ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as Ledger;
      } catch {
        ledger = undefined;
      }
      resolve({ code, signal, stdout, stderr, ledger });
    });
  });
}
