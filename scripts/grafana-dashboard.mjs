// Writes docs/ops/grafana-dashboard.json. Panels are listed here, once, so
// the dashboard stays reviewable; run `node scripts/grafana-dashboard.mjs`
// after changing them (a test checks every metric a panel uses exists).
import { writeFileSync } from 'node:fs';

// Every panel reads the dashboard's `datasource` variable, literally "${datasource}": it works
// both when imported in the UI and when provisioned from a file (which fills in no import inputs).
const ds = { type: 'prometheus', uid: ['$', '{datasource}'].join('') };
let id = 0;
const panel = (title, type, targets, grid, extra = {}) => ({
  id: ++id,
  title,
  type,
  datasource: ds,
  gridPos: grid,
  targets: targets.map(([expr, legendFormat], i) => ({ datasource: ds, expr, legendFormat, refId: String.fromCharCode(65 + i) })),
  ...extra,
});
const unit = (u, more = {}) => ({ fieldConfig: { defaults: { unit: u, ...more }, overrides: [] } });

const panels = [
  panel(
    'Providers up',
    'stat',
    [['agentmem_provider_up', '{{provider}}']],
    { x: 0, y: 0, w: 8, h: 4 },
    {
      ...unit('none', { mappings: [{ type: 'value', options: { 0: { text: 'DOWN', color: 'red' }, 1: { text: 'UP', color: 'green' } } }] }),
    },
  ),
  panel(
    'Availability (30 d) vs 99.9% SLO',
    'stat',
    [['avg_over_time(agentmem:system_up[30d])', 'system']],
    { x: 8, y: 0, w: 4, h: 4 },
    unit('percentunit', { decimals: 3 }),
  ),
  panel(
    'Error budget left (30 d)',
    'gauge',
    [['agentmem:error_budget_remaining:ratio30d', 'budget']],
    { x: 12, y: 0, w: 4, h: 4 },
    unit('percentunit', { min: 0, max: 1 }),
  ),
  panel(
    'Burn rate (1 h)',
    'stat',
    [['agentmem:system_error_ratio:rate1h / 0.001', '1h']],
    { x: 16, y: 0, w: 4, h: 4 },
    unit('none', { decimals: 2 }),
  ),
  panel(
    'Failovers (24 h)',
    'stat',
    [['sum(increase(agentmem_failovers_total{kind="failover"}[24h]))', 'failovers']],
    { x: 20, y: 0, w: 4, h: 4 },
    unit('none'),
  ),
  panel(
    'Probe latency p95',
    'timeseries',
    [['histogram_quantile(0.95, sum by (le, provider) (rate(agentmem_probe_duration_seconds_bucket[5m])))', '{{provider}}']],
    { x: 0, y: 4, w: 12, h: 8 },
    unit('s'),
  ),
  panel(
    'Operation duration p99',
    'timeseries',
    [['histogram_quantile(0.99, sum by (le, operation) (rate(agentmem_query_duration_seconds_bucket[5m])))', '{{operation}}']],
    { x: 12, y: 4, w: 12, h: 8 },
    unit('s'),
  ),
  panel(
    'Operations per second by provider',
    'timeseries',
    [['sum by (provider) (rate(agentmem_query_duration_seconds_count[5m]))', '{{provider}}']],
    { x: 0, y: 12, w: 12, h: 8 },
    unit('ops'),
  ),
  panel(
    'Errors by class',
    'timeseries',
    [['sum by (class) (rate(agentmem_errors_total[5m]))', '{{class}}']],
    { x: 12, y: 12, w: 12, h: 8 },
    unit('ops'),
  ),
  panel(
    'Slow operations (above monitor.slowQueryMs)',
    'timeseries',
    [['sum by (operation, provider) (rate(agentmem_slow_queries_total[5m]))', '{{operation}} on {{provider}}']],
    { x: 0, y: 20, w: 12, h: 8 },
    unit('ops'),
  ),
  panel(
    'Circuit breaker state (0 closed, 1 half-open, 2 open, 3 isolated)',
    'timeseries',
    [['agentmem_breaker_state', '{{provider}}']],
    { x: 12, y: 20, w: 12, h: 8 },
    unit('none'),
  ),
  panel(
    'Replication lag (seconds)',
    'timeseries',
    [['agentmem_replication_lag_seconds', '{{source}} → {{target}}']],
    { x: 0, y: 28, w: 12, h: 8 },
    unit('s'),
  ),
  panel(
    'Replication lag (rows)',
    'timeseries',
    [['agentmem_replication_lag_rows', '{{source}} → {{target}}']],
    { x: 12, y: 28, w: 12, h: 8 },
    unit('none'),
  ),
  panel(
    'Connection pool',
    'timeseries',
    [['agentmem_pool_connections', '{{provider}} {{state}}']],
    { x: 0, y: 36, w: 12, h: 8 },
    unit('none'),
  ),
  panel('Rows per table', 'timeseries', [['agentmem_table_rows', '{{provider}} {{table}}']], { x: 12, y: 36, w: 12, h: 8 }, unit('none')),
  panel(
    'Routed calls by outcome',
    'timeseries',
    [['sum by (provider, outcome) (rate(agentmem_routed_calls_total[5m]))', '{{provider}} {{outcome}}']],
    { x: 0, y: 44, w: 12, h: 8 },
    unit('ops'),
  ),
  panel(
    'Alert notifications',
    'timeseries',
    [['sum by (channel, outcome) (increase(agentmem_alerts_sent_total[1h]))', '{{channel}} {{outcome}}']],
    { x: 12, y: 44, w: 12, h: 8 },
    unit('none'),
  ),
];

const dashboard = {
  title: 'agentmem',
  uid: 'agentmem-overview',
  description: 'agentmem providers, operations, replication and the 99.9% availability SLO (recording rules in alert-rules.yml).',
  tags: ['agentmem'],
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  refresh: '30s',
  time: { from: 'now-6h', to: 'now' },
  templating: {
    list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1 }],
  },
  annotations: { list: [] },
  panels,
};
writeFileSync(new URL('../docs/ops/grafana-dashboard.json', import.meta.url), `${JSON.stringify(dashboard, null, 2)}\n`);
