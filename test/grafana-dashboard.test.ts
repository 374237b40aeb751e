import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Swarm } from '../src/swarm.js';
import { allPanels, dashboardQueries, loadDashboard, metricNames } from './support/grafana-dashboard.js';
import { parseExposition } from './support/prometheus-text.js';

// The Grafana dashboard reads only what a real swarm's /metrics exports, through the one datasource input, and shows
// every family of its own.
let swarm: Swarm | undefined;
/** Family names and sample names (a histogram's _bucket, _sum, _count) of a real scrape. */
let exported: Set<string>;

beforeAll(async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/noop.task.ts'], maxSwarmlets: 1, http: { port: 0 } });
  await swarm.run({ tasks: Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })) });
  const families = parseExposition(await (await fetch(`${swarm.http!.url}/metrics`)).text());
  exported = new Set([...families.keys(), ...[...families.values()].flatMap((f) => f.samples.map((s) => s.name))]);
}, 30_000);

afterAll(async () => {
  await swarm?.stop();
});

describe('the Grafana dashboard', () => {
  const dashboard = loadDashboard();

  it('is an importable dashboard with a Prometheus datasource input used by every panel and query', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    const panels = allPanels(dashboard).filter((p) => p.type !== 'row');
    expect(new Set(allPanels(dashboard).map((p) => p.id)).size).toBe(allPanels(dashboard).length);
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
    }
  });

  it('queries only metric names a real scrape exports', () => {
    expect(exported.has('swarmlet_micro_task_duration_seconds_bucket')).toBe(true);
    for (const { panel, expr } of dashboardQueries(dashboard)) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel}: ${name} in ${expr}`).toBe(true);
    }
    for (const variable of dashboard.templating.list) {
      const metric = /^label_values\((\w+),\s*(\w+)\)$/.exec(variable.query.query)?.[1];
      expect(metric && exported.has(metric), variable.query.query).toBe(true);
    }
  });

  it('shows every family the swarm exports of its own', () => {
    const used = new Set(dashboardQueries(dashboard).flatMap(({ expr }) => metricNames(expr)));
    const own = [...exported].filter((name) => /^swarmlet_(?!process_|nodejs_)/.test(name));
    const families = own.filter((name) => !/_(bucket|sum|count)$/.test(name));
    for (const family of families)
      expect(
        [...used].some((name) => name === family || name.startsWith(`${family}_`)),
        family,
      ).toBe(true);
  });

  it('reads metric names out of PromQL, leaving labels, groupings, ranges, functions and variables out', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (task_type, le) (rate(a_bucket{task_type=~"$task_type", x="}"}[$__rate_interval]))) / on (job) b_total == 1',
      ),
    ).toEqual(['a_bucket', 'b_total']);
  });
});
