/**
 * docs/ops/TROUBLESHOOTING.md covers everything agentmem can report: each
 * error code, each alert the monitor sends and each Prometheus rule it ships
 * has a section with the symptom, the likely causes and a command that tells
 * them apart (the docs-commands test checks the commands exist).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ERROR_CODES } from '../../src/errors/index.js';
import { CONDITION_NAMES } from '../../src/ops/alerts/conditions.js';

const ROOT = join(import.meta.dirname, '../..');
const doc = readFileSync(join(ROOT, 'docs/ops/TROUBLESHOOTING.md'), 'utf8');
const sections = new Map(
  doc
    .split(/^### /m)
    .slice(1)
    .map((part) => [part.split('\n')[0]?.trim() as string, part]),
);
const rules = (parse(readFileSync(join(ROOT, 'docs/ops/alert-rules.yml'), 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups
  .flatMap((g) => g.rules)
  .flatMap((r) => (r.alert ? [r.alert] : []));

describe('docs/ops/TROUBLESHOOTING.md', () => {
  const everything = [...ERROR_CODES, ...CONDITION_NAMES.map((n) => `agentmem_${n}`), ...rules];

  it('has a section for every error code, monitor alert and alert rule, and none for anything else', () => {
    expect(rules.length).toBeGreaterThan(10);
    expect(everything.filter((name) => !sections.has(name))).toEqual([]);
    expect([...sections.keys()].filter((name) => !everything.includes(name))).toEqual([]);
  });

  it('says in each the symptom, the likely causes, and a command that tells them apart', () => {
    for (const [name, text] of sections) {
      expect(text, name).toContain('**Symptom:**');
      expect(text, name).toContain('**Likely causes:**');
      expect(text, name).toMatch(/\*\*Tell them apart:\*\*.*`agentmem [^`]+`|\*\*Tell them apart:\*\* (the |retry |check )/);
    }
  });
});
