import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prometheusMetrics } from '../src/api/metrics.js';
import { DURATION_BUCKETS_MS } from '../src/runtime/type-stats.js';
import { fakeOperations, type FakeSwarm } from './support/fake-operations.js';
import { parseExposition, type ExpositionFamily } from './support/prometheus-text.js';

// /metrics as text: every family declared, label values escaped, the histogram as the runtime counted it, bounded
// label values.
const OWN_FAMILIES = [
  'swarmlet_micro_tasks_total',
  'swarmlet_micro_task_duration_seconds',
  'swarmlet_swarmlets',
  'swarmlet_morph_actions_total',
  'swarmlet_queue_depth',
  'swarmlet_cold_starts_total',
  'swarmlet_prediction_error_ratio',
  'swarmlet_node_state',
  'swarmlet_jobs',
];
const NASTY = 'say "hi"\\ then\nbye';

async function scrape(swarm: () => FakeSwarm, caps?: { taskTypes: number; nodes: number }) {
  const metrics = prometheusMetrics(fakeOperations(swarm), caps);
  const { body, contentType } = await metrics.scrape();
  return { body, contentType, families: parseExposition(body), again: metrics.scrape };
}

const values = (family: ExpositionFamily | undefined, name: string, where: Record<string, string> = {}) =>
  family!.samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

describe('the /metrics exposition', () => {
  const small: FakeSwarm = {
    types: [
      { taskType: 'resize', done: 40, failed: 2, queued: 7 },
      { taskType: NASTY, done: 5 },
    ],
    swarmlets: [
      { taskType: 'resize', state: 'busy' },
      { taskType: 'resize', state: 'busy' },
      { taskType: NASTY, state: 'idle' },
    ],
    nodes: [{ node: 'n1', state: 'ready' }],
  };

  it('declares every family with HELP and TYPE, process metrics included, in the Prometheus text format', async () => {
    const { families, contentType, body } = await scrape(() => small);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of OWN_FAMILIES) {
      expect(families.get(name)?.help, name).toBeTruthy();
      expect(families.get(name)?.type, name).toBeTruthy();
    }
    for (const family of families.values()) expect(family.type, family.name).toBeDefined();
    expect(families.get('swarmlet_micro_task_duration_seconds')!.type).toBe('histogram');
    expect(families.get('swarmlet_micro_tasks_total')!.type).toBe('counter');
    expect(families.get('swarmlet_process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('swarmlet_nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    // Prometheus' own reader and linter (promtool, from the Debian package): it reads it all, and its only complaints
    // are about names prom-client keeps for its process gauges (nodejs_active_handles_total and the like).
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    const complaints = `${check.stdout}${check.stderr}`.split('\n').filter(Boolean);
    for (const complaint of complaints) expect(complaint).toMatch(/^swarmlet_nodejs_active_\w+_total non-counter /);
  });

  it('escapes label values and reads them back as they were', async () => {
    const { families, body } = await scrape(() => small);
    expect(body).toContain('task_type="say \\"hi\\"\\\\ then\\nbye"');
    expect(
      values(families.get('swarmlet_micro_tasks_total'), 'swarmlet_micro_tasks_total', { task_type: NASTY }),
    ).toEqual([5, 0]);
    expect(
      values(families.get('swarmlet_swarmlets'), 'swarmlet_swarmlets', { task_type: NASTY, state: 'idle' }),
    ).toEqual([1]);
  });

  it('gives counts, gauges and the node state as measured', async () => {
    const { families } = await scrape(() => small);
    const micro = families.get('swarmlet_micro_tasks_total');
    expect(values(micro, 'swarmlet_micro_tasks_total', { task_type: 'resize', outcome: 'done' })).toEqual([40]);
    expect(values(micro, 'swarmlet_micro_tasks_total', { task_type: 'resize', outcome: 'failed' })).toEqual([2]);
    const swarmlets = families.get('swarmlet_swarmlets');
    expect(values(swarmlets, 'swarmlet_swarmlets', { task_type: 'resize', state: 'busy' })).toEqual([2]);
    const queue = families.get('swarmlet_queue_depth');
    expect(values(queue, 'swarmlet_queue_depth', { task_type: 'resize', class: 'all' })).toEqual([7]);
    expect(values(families.get('swarmlet_node_state'), 'swarmlet_node_state')).toEqual([1]);
    expect(families.get('swarmlet_node_state')!.samples[0]!.labels).toEqual({ node: 'n1', state: 'ready' });
    expect(values(families.get('swarmlet_jobs'), 'swarmlet_jobs', { state: 'done' })).toEqual([5]);
    expect(values(families.get('swarmlet_cold_starts_total'), 'swarmlet_cold_starts_total')).toEqual([3]);
  });

  it('exposes the runtime histogram exactly: cumulative buckets in seconds, +Inf equal to _count, _sum in seconds', async () => {
    const { families } = await scrape(() => small);
    const histogram = families.get('swarmlet_micro_task_duration_seconds');
    const name = 'swarmlet_micro_task_duration_seconds';
    const buckets = histogram!.samples.filter((s) => s.name === `${name}_bucket` && s.labels.task_type === 'resize');
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf']);
    // 40 micro-tasks spread one per bucket in turn over 17 buckets: 3 in the first 6, 2 in the rest.
    const perBucket: number[] = Array.from({ length: 17 }, (_, i) => (i < 40 % 17 ? 3 : 2));
    expect(buckets.map((b) => b.value)).toEqual(
      perBucket.map((_, i) => perBucket.slice(0, i + 1).reduce((a, b) => a + b)),
    );
    expect(values(histogram, `${name}_count`, { task_type: 'resize' })).toEqual([40]);
    expect(values(histogram, `${name}_sum`, { task_type: 'resize' })).toEqual([0.12]);
  });

  it('caps task types at the busiest ones, the rest as "other", and keeps the choice as volumes change', async () => {
    const volumes = Array.from({ length: 150 }, (_, i) => 1000 - i);
    let swarm: FakeSwarm = {
      types: volumes.map((done, i) => ({ taskType: `t${i}`, done, queued: 1 })),
      swarmlets: volumes.map((_, i) => ({ taskType: `t${i}`, state: 'idle' })),
    };
    const { families, again } = await scrape(() => swarm, { taskTypes: 100, nodes: 1_000 });
    const labels = (family: ExpositionFamily) => new Set(family.samples.map((s) => s.labels.task_type));
    const kept = [...Array.from({ length: 100 }, (_, i) => `t${i}`), 'other'];
    for (const name of ['swarmlet_micro_tasks_total', 'swarmlet_micro_task_duration_seconds', 'swarmlet_swarmlets'])
      expect([...labels(families.get(name)!)].sort(), name).toEqual(kept.sort());
    const rest = volumes.slice(100).reduce((a, b) => a + b, 0);
    const doneOf = (f: Map<string, ExpositionFamily>, taskType: string) =>
      values(f.get('swarmlet_micro_tasks_total'), 'swarmlet_micro_tasks_total', {
        task_type: taskType,
        outcome: 'done',
      });
    expect(doneOf(families, 'other')).toEqual([rest]);
    expect(values(families.get('swarmlet_queue_depth'), 'swarmlet_queue_depth', { task_type: 'other' })).toEqual([50]);
    expect(values(families.get('swarmlet_swarmlets'), 'swarmlet_swarmlets', { task_type: 'other' })).toEqual([50]);
    const histogram = families.get('swarmlet_micro_task_duration_seconds');
    expect(values(histogram, 'swarmlet_micro_task_duration_seconds_count', { task_type: 'other' })).toEqual([rest]);
    // A mean error of 50 types would describe none of them.
    expect(labels(families.get('swarmlet_prediction_error_ratio')!).has('other')).toBe(false);

    // t149 becomes the busiest: it stays in "other" (its counter would otherwise jump out of it), which only grows.
    swarm = { ...swarm, types: swarm.types.map((t) => (t.taskType === 't149' ? { ...t, done: 1_000_000 } : t)) };
    const later = parseExposition((await again()).body);
    expect(doneOf(later, 't149')).toEqual([]);
    expect(doneOf(later, 'other')).toEqual([rest - 851 + 1_000_000]);
  });

  it('caps nodes, counting the nodes past the cap per state as node="other"', async () => {
    const nodes = Array.from({ length: 1_200 }, (_, i) => ({ node: `n${i}`, state: i % 2 ? 'ready' : 'draining' }));
    const { families } = await scrape(() => ({ types: [], swarmlets: [], nodes }), { taskTypes: 100, nodes: 1_000 });
    const samples = families.get('swarmlet_node_state')!.samples;
    expect(samples.filter((s) => s.labels.node !== 'other')).toHaveLength(1_000);
    expect(samples.filter((s) => s.labels.node !== 'other').every((s) => s.value === 1)).toBe(true);
    const other = samples.filter((s) => s.labels.node === 'other');
    expect(other.reduce((sum, s) => sum + s.value, 0)).toBe(200);
    expect(new Set(samples.map((s) => s.labels.node)).size).toBe(1_001);
  });
});
