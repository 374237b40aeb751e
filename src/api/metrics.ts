import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { LabelCap } from './label-cap.js';
import type { MetricsView, Operations } from './operations.js';

/** How many task types and nodes get series of their own; the rest are labelled "other" (label-cap.ts). */
export interface MetricsCaps {
  readonly taskTypes: number;
  readonly nodes: number;
}

export const DEFAULT_METRICS_CAPS: MetricsCaps = { taskTypes: 100, nodes: 1_000 };

export interface PrometheusMetrics {
  readonly registry: Registry;
  /** One exposition (what GET /metrics answers). */
  scrape(): Promise<{ contentType: string; body: string }>;
}

type Labels = Record<string, string>;

interface Sample {
  /** Appended to the family's name: a histogram's `_bucket`, `_sum`, `_count`. */
  readonly suffix?: string;
  readonly labels: Labels;
  readonly value: number;
}

/** One scrape's reading: the view, and what each task type and node is labelled (capped). */
interface Reading {
  readonly view: MetricsView;
  readonly taskType: (taskType: string) => string;
  readonly node: (node: string) => string;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  samples(reading: Reading): Sample[];
}

const FAMILIES: readonly Family[] = [
  {
    name: 'swarmlet_micro_tasks_total',
    help: 'Micro-tasks by task type and outcome (done; failed for good; retried: attempts that failed and ran again).',
    type: 'counter',
    samples: (r) =>
      summed(r.view.microTasks.map((m) => [{ task_type: r.taskType(m.taskType), outcome: m.outcome }, m.count])),
  },
  {
    name: 'swarmlet_micro_task_duration_seconds',
    help: 'How long micro-task attempts ran to their end (done, or thrown), by task type.',
    type: 'histogram',
    samples: durationSamples,
  },
  {
    name: 'swarmlet_swarmlets',
    help: 'Live swarmlets by the task type they serve and their state.',
    type: 'gauge',
    samples: (r) =>
      summed(r.view.swarmlets.map((s) => [{ task_type: r.taskType(s.taskType), state: s.state }, s.count])),
  },
  {
    name: 'swarmlet_morph_actions_total',
    help: 'Actions the control loop took, by kind (replicate, specialize, consolidate, deprovision, prewarm, reclaim).',
    type: 'counter',
    samples: (r) => summed(r.view.morphActions.map((a) => [{ kind: a.kind }, a.count])),
  },
  {
    name: 'swarmlet_queue_depth',
    help: 'Micro-tasks waiting, by task type and priority class ("all": the classes are not counted apart).',
    type: 'gauge',
    samples: (r) =>
      summed(r.view.queueDepth.map((q) => [{ task_type: r.taskType(q.taskType), class: 'all' }, q.depth])),
  },
  {
    name: 'swarmlet_cold_starts_total',
    help: 'Swarmlets that had to load a task type before serving it.',
    type: 'counter',
    samples: (r) => [{ labels: {}, value: r.view.coldStarts }],
  },
  {
    name: 'swarmlet_prediction_error_ratio',
    help: 'Relative error of the predicted micro-task duration, by task type (0.1: 10 % off).',
    type: 'gauge',
    // A mean error over the types past the cap would describe none of them: those get no series.
    samples: (r) =>
      r.view.predictionError
        .filter((p) => r.taskType(p.taskType) === p.taskType)
        .map((p) => ({ labels: { task_type: p.taskType }, value: p.ratio })),
  },
  {
    name: 'swarmlet_node_state',
    help: 'Each node in its current state (1); node="other" counts the nodes past the cap in each state.',
    type: 'gauge',
    samples: (r) => summed(r.view.nodes.map((n) => [{ node: r.node(n.node), state: n.state }, 1])),
  },
  {
    name: 'swarmlet_jobs',
    help: 'Jobs by state (running, and the recently finished ones the runtime keeps).',
    type: 'gauge',
    samples: (r) => summed(r.view.jobs.map((j) => [{ state: j.state }, j.count])),
  },
];

/**
 * The Prometheus registry of a swarm: every family is read from `Operations.metrics()` when scraped (nothing is
 * counted on the loop's path), plus the process metrics (prefixed `swarmlet_`).
 */
export function prometheusMetrics(operations: Operations, caps: MetricsCaps = DEFAULT_METRICS_CAPS): PrometheusMetrics {
  const taskTypes = new LabelCap(caps.taskTypes);
  const nodes = new LabelCap(caps.nodes);
  let reading: Reading | undefined;
  // The registry asks each family in turn within one synchronous pass: they share one reading, dropped right after.
  const read = (): Reading => {
    if (reading) return reading;
    const view = operations.metrics();
    reading = {
      view,
      taskType: taskTypes.admit(taskTypeVolumes(view)),
      node: nodes.admit(new Map(view.nodes.map((n) => [n.node, 1]))),
    };
    queueMicrotask(() => (reading = undefined));
    return reading;
  };
  const own = new Registry();
  for (const family of FAMILIES) own.registerMetric(viewMetric(family, read));
  const registry = Registry.merge([processMetrics(), own]);
  return {
    registry,
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

let processRegistry: Registry | undefined;

/** Once per process: the default collectors observe the process (GC, event loop) from when they are made. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'swarmlet_' });
  }
  return processRegistry;
}

/**
 * A family as prom-client's registry reads it (its `get()` shape): prom-client's own metrics count observations,
 * while these report totals the runtime already keeps (a histogram's buckets included).
 */
function viewMetric(family: Family, read: () => Reading): Metric {
  const metric = {
    name: family.name,
    help: family.help,
    type: family.type,
    aggregator: 'sum',
    get: async () => ({
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      values: family.samples(read()).map((s) => ({
        metricName: family.name + (s.suffix ?? ''),
        labels: s.labels,
        value: s.value,
      })),
    }),
    reset: () => {},
  };
  return metric as unknown as Metric;
}

/** Samples with the same labels (types or nodes folded into "other") add up. */
function summed(entries: readonly (readonly [Labels, number])[]): Sample[] {
  const byKey = new Map<string, { labels: Labels; value: number }>();
  for (const [labels, value] of entries) {
    const key = Object.values(labels).join('\0');
    const sample = byKey.get(key);
    if (sample) sample.value += value;
    else byKey.set(key, { labels, value });
  }
  return [...byKey.values()];
}

/** Busier types get their own series first: micro-tasks seen, waiting and swarmlets serving them. */
function taskTypeVolumes(view: MetricsView): Map<string, number> {
  const volumes = new Map<string, number>();
  const add = (taskType: string, amount: number) => volumes.set(taskType, (volumes.get(taskType) ?? 0) + amount);
  for (const m of view.microTasks) add(m.taskType, m.count);
  for (const q of view.queueDepth) add(q.taskType, q.depth);
  for (const s of view.swarmlets) add(s.taskType, s.count);
  for (const d of view.durations) add(d.taskType, 0);
  return volumes;
}

/** The runtime's per-bucket counts (ms bounds, the last +Inf) as Prometheus' cumulative buckets in seconds. */
function durationSamples(r: Reading): Sample[] {
  const byLabel = new Map<string, { bucketsMs: readonly number[]; counts: number[]; sumMs: number }>();
  for (const d of r.view.durations) {
    const label = r.taskType(d.taskType);
    const into = byLabel.get(label);
    if (!into) byLabel.set(label, { bucketsMs: d.bucketsMs, counts: [...d.counts], sumMs: d.sumMs });
    else if (sameBounds(into.bucketsMs, d.bucketsMs)) {
      d.counts.forEach((count, i) => (into.counts[i]! += count));
      into.sumMs += d.sumMs;
    } // else: buckets that differ cannot be added (the runtime has one set: type-stats.ts)
  }
  const samples: Sample[] = [];
  for (const [taskType, { bucketsMs, counts, sumMs }] of byLabel) {
    let cumulative = 0;
    bucketsMs.forEach((upperMs, i) => {
      cumulative += counts[i] ?? 0;
      samples.push({
        suffix: '_bucket',
        labels: { task_type: taskType, le: String(upperMs / 1000) },
        value: cumulative,
      });
    });
    cumulative += counts[bucketsMs.length] ?? 0;
    samples.push({ suffix: '_bucket', labels: { task_type: taskType, le: '+Inf' }, value: cumulative });
    samples.push({ suffix: '_sum', labels: { task_type: taskType }, value: sumMs / 1000 });
    samples.push({ suffix: '_count', labels: { task_type: taskType }, value: cumulative });
  }
  return samples;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, i) => bound === b[i]);
}
