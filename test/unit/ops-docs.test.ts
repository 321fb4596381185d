import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registry } from '../../src/observability/metrics.js';
import { ROOT } from '../harness/cli.js';
import { anchorOf } from '../harness/markdown.js';

type Rule = {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};
const rules = parse(readFileSync(join(ROOT, 'docs/ops/alert-rules.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const allRules = rules.groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs/ops/grafana-dashboard.json'), 'utf8')) as {
  panels: { title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }[];
  templating: { list: { name: string; type: string; query: string }[] };
};

/** Every series an expression reads: agentmem_* metrics (histogram suffixes stripped) and agentmem:* recording rules. */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\bagentmem[_:][a-z0-9_:]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''));
}

describe('docs/ops: Grafana dashboard and Prometheus rules', () => {
  const exported = new Set(registry.getMetricsAsArray().map((m) => m.name));
  const recorded = new Set(allRules.flatMap((r) => (r.record ? [r.record] : [])));

  it('use only metrics agentmem exports and series the rules record', () => {
    const used = [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...allRules.map((r) => r.expr)].flatMap(seriesIn);
    expect(used.length).toBeGreaterThan(20);
    const unknown = [...new Set(used)].filter((name) => !exported.has(name) && !recorded.has(name));
    expect(unknown).toEqual([]);
  });

  it('the dashboard picks its Prometheus from a datasource variable, so file provisioning works', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const variable = ['$', '{datasource}'].join('');
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(variable);
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).toBe(variable);
    }
  });

  it('every alert has a severity, a summary and a runbook section that exists', () => {
    const anchors = (file: string) =>
      new Set([...readFileSync(join(ROOT, file), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
    for (const rule of allRules.filter((r) => r.alert)) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      const [file, anchor] = (rule.annotations?.runbook ?? '').split('#');
      expect(file, rule.alert).toMatch(/^docs\/ops\/[A-Z_]+\.md$/);
      expect(anchors(file as string).has(anchor ?? ''), `${rule.alert} → ${file}#${anchor}`).toBe(true);
    }
  });

  it('has multi-window burn-rate alerts for a 99.9% SLO (14.4x and 6x page, 1x ticket)', () => {
    const burn = allRules.filter((r) => r.alert?.startsWith('AgentmemErrorBudgetBurn'));
    const factors = burn.map((r) => /\(([\d.]+) \* 0\.001\)/.exec(r.expr)?.[1]);
    expect(factors.sort()).toEqual(['1', '14.4', '6']);
    for (const r of burn) expect(r.expr.match(/agentmem:system_error_ratio:rate\w+/g)).toHaveLength(2);
  });
});
