/**
 * An Operations whose metrics come from a plain description (the rest throws: /metrics reads nothing else), for the
 * exposition tests and the /metrics bench.
 */
import type { MetricsView, Operations } from '../../src/api/operations.js';
import { DURATION_BUCKETS_MS } from '../../src/runtime/type-stats.js';

export interface FakeSwarm {
  /** Per task type: micro-tasks done (each in bucket `index % buckets`), failed and waiting. */
  readonly types: readonly { taskType: string; done: number; failed?: number; queued?: number }[];
  readonly swarmlets: readonly { taskType: string; state: string }[];
  readonly nodes?: readonly { node: string; state: string }[];
}

export function fakeOperations(swarm: () => FakeSwarm): Operations {
  const unused = () => {
    throw new Error('not part of /metrics');
  };
  return {
    mode: 'embedded',
    status: unused,
    jobs: unused,
    submit: unused,
    cancel: unused,
    swarmlets: unused,
    nodes: unused,
    decisions: unused,
    anomalies: unused,
    forecasts: unused,
    logs: unused,
    metrics: () => fakeView(swarm()),
  };
}

function fakeView(swarm: FakeSwarm): MetricsView {
  const live = new Map<string, { taskType: string; state: string; count: number }>();
  for (const s of swarm.swarmlets) {
    const key = `${s.taskType}\0${s.state}`;
    const entry = live.get(key) ?? { taskType: s.taskType, state: s.state, count: 0 };
    entry.count += 1;
    live.set(key, entry);
  }
  return {
    microTasks: swarm.types.flatMap((t) => [
      { taskType: t.taskType, outcome: 'done' as const, count: t.done },
      { taskType: t.taskType, outcome: 'failed' as const, count: t.failed ?? 0 },
    ]),
    durations: swarm.types.map((t) => {
      const buckets = DURATION_BUCKETS_MS.length + 1;
      const counts = Array.from(
        { length: buckets },
        (_, b) => Math.floor(t.done / buckets) + (b < t.done % buckets ? 1 : 0),
      );
      return { taskType: t.taskType, bucketsMs: DURATION_BUCKETS_MS, counts, sumMs: t.done * 3 };
    }),
    swarmlets: [...live.values()],
    morphActions: [
      { kind: 'start', count: swarm.swarmlets.length },
      { kind: 'morph', count: 3 },
    ],
    queueDepth: swarm.types.map((t) => ({ taskType: t.taskType, depth: t.queued ?? 0 })),
    coldStarts: swarm.swarmlets.length,
    predictionError: swarm.types.map((t) => ({ taskType: t.taskType, ratio: 0.1 })),
    nodes: swarm.nodes ?? [],
    jobs: [
      { state: 'running', count: 2 },
      { state: 'done', count: 5 },
    ],
  };
}
