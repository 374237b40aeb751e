import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Swarm } from '../src/swarm.js';
import { dashboardQueries } from './support/grafana-dashboard.js';
import { startPrometheus, type PrometheusServer } from './support/prometheus-server.js';

// A real Prometheus scrapes a real embedded swarm's /metrics: the counts it stores are the micro-tasks that ran, the
// histogram answers histogram_quantile, and every query of the Grafana dashboard runs.
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts', 'test/fixtures/flaky.task.ts'];
let swarm: Swarm | undefined;
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 2, maxAttempts: 2, tickMs: 20, http: { port: 0 } });
  await swarm.run({
    tasks: [
      ...Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, type: 'busy', input: { ms: 2 } })),
    ],
  });
  // One micro-task fails for good (2 attempts), one succeeds on its second attempt.
  await expect(swarm.run({ type: 'flaky', input: { succeedOnAttempt: 'never' } })).rejects.toThrow(/flaky refused/);
  await swarm.run({ type: 'flaky', input: { succeedOnAttempt: 2 } });
  prometheus = await startPrometheus([new URL(swarm.http!.url).host]);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await swarm?.stop();
});

/** The query's samples by one label, once Prometheus has scraped them (bounded wait, polled). */
async function settled(promql: string, by: string, expected: Record<string, number>): Promise<void> {
  await vi.waitFor(
    async () => {
      const result = await prometheus!.query(promql);
      expect(Object.fromEntries(result.map((r) => [r.metric[by], r.value]))).toEqual(expected);
    },
    { timeout: 20_000, interval: 200 },
  );
}

describe('a real Prometheus scraping /metrics', () => {
  it('stores the micro-task counts per type and outcome', async () => {
    await settled('swarmlet_micro_tasks_total{outcome="done"}', 'task_type', { noop: 30, busy: 10, flaky: 1 });
    await settled('swarmlet_micro_tasks_total{outcome="failed"}', 'task_type', { noop: 0, busy: 0, flaky: 1 });
    await settled('swarmlet_micro_tasks_total{outcome="retried"}', 'task_type', { noop: 0, busy: 0, flaky: 2 });
    await settled('sum by (state) (swarmlet_jobs)', 'state', { done: 2, failed: 1 });
    const up = await prometheus!.query('up{job="swarmlet"}');
    expect(up.map((r) => r.value)).toEqual([1]);
  });

  it('has a histogram whose _count is the micro-tasks run and whose quantiles answer', async () => {
    // Every attempt that ran to an end was timed: the done ones, and the flaky attempts that threw.
    await settled('swarmlet_micro_task_duration_seconds_count', 'task_type', { noop: 30, busy: 10, flaky: 4 });
    const p95 = await prometheus!.query(
      'histogram_quantile(0.95, sum by (task_type, le) (swarmlet_micro_task_duration_seconds_bucket))',
    );
    const byType = Object.fromEntries(p95.map((r) => [r.metric.task_type, r.value]));
    // Each answer lies in the bucket that holds the 95th percentile of the stored counts.
    for (const taskType of ['noop', 'busy', 'flaky']) {
      const buckets = (await prometheus!.query(`swarmlet_micro_task_duration_seconds_bucket{task_type="${taskType}"}`))
        .map((r) => ({ le: r.metric.le === '+Inf' ? Infinity : Number(r.metric.le), count: r.value }))
        .sort((a, b) => a.le - b.le);
      const total = buckets.at(-1)!.count;
      const at = buckets.findIndex((b) => b.count >= 0.95 * total);
      expect(byType[taskType], taskType).toBeGreaterThan(at === 0 ? 0 : buckets[at - 1]!.le);
      expect(byType[taskType], taskType).toBeLessThanOrEqual(buckets[at]!.le);
    }
    // busy spins 2 ms at least: none of it is in the 1 ms bucket.
    expect(byType.busy).toBeGreaterThan(0.001);
  });

  it('runs every query of the Grafana dashboard', async () => {
    await settled('swarmlet_micro_tasks_total{outcome="done", task_type="noop"}', 'task_type', { noop: 30 });
    for (const { panel, expr } of dashboardQueries()) {
      const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$task_type', '.*');
      await expect(prometheus!.query(promql), `${panel}: ${promql}`).resolves.toBeDefined();
    }
  });
});
