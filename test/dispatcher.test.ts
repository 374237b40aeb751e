import { describe, expect, it } from 'vitest';
import { parseJob } from '../src/core/job.js';
import { LIMITS } from '../src/core/limits.js';
import { MemoryBroker } from '../src/runtime/brokers/memory-broker.js';
import { Dispatcher } from '../src/runtime/dispatcher.js';
import type { JobHistory } from '../src/runtime/job-history.js';
import { JobTracker } from '../src/runtime/jobs/job-tracker.js';
import type { WireTask } from '../src/runtime/local/ipc.js';
import type { NodeReservations } from '../src/runtime/node-reservations.js';
import type { Provider } from '../src/runtime/provider.js';
import type { SwarmletRecord } from '../src/runtime/swarmlet-record.js';
import type { TypeStats } from '../src/runtime/type-stats.js';
import { UsageTracker, type DurationEstimate } from '../src/runtime/usage-tracker.js';

// The dispatcher alone, with a real tracker and memory broker; the swarmlet, provider and pool are stand-ins that
// record what was sent.
function setup(durations: DurationEstimate = { predictedDurationMs: () => 0.01 }) {
  const tracker = new JobTracker(new Set(['noop']), LIMITS);
  const broker = new MemoryBroker({ clock: { nowMs: () => 0 } });
  const sent: WireTask[] = [];
  const provider = { dispatch: (_id: string, wire: WireTask[]) => void sent.push(...wire) } as unknown as Provider;
  const swarmlet = {
    id: 's1',
    taskType: 'noop',
    serving: true,
    isolated: false,
    state: 'busy',
    inFlight: new Set<number>(),
    transition: () => undefined,
  } as unknown as SwarmletRecord;
  const dispatcher = new Dispatcher(
    tracker,
    broker,
    provider,
    new Map([['s1', swarmlet]]),
    new Map([['noop', { report: { retries: 0 } } as unknown as TypeStats]]),
    durations,
    { demand: () => undefined } as unknown as JobHistory,
    { nowMs: () => 0 },
    3,
    { hold: () => true, release: () => undefined } as unknown as NodeReservations,
  );
  const submit = (count: number) =>
    tracker.submit(
      parseJob({ tasks: Array.from({ length: count }, (_, i) => ({ id: `t${i}`, type: 'noop', input: i })) }),
    );
  return { tracker, broker, dispatcher, sent, submit, swarmlet };
}

describe('Dispatcher', () => {
  it('does not queue micro-tasks whose job ended before they were enqueued', async () => {
    const { tracker, broker, dispatcher, submit } = setup();
    const ended = submit(3);
    const running = submit(1);
    tracker.failed(ended.ready[0]!.id, 1, 'boom'); // releases the job's tasks
    await dispatcher.enqueue([...ended.ready, ...running.ready].map((task) => task.id));
    expect(await broker.depths()).toEqual(new Map([['noop', 1]]));
    expect(dispatcher.queued.get('noop')).toBe(1);
  });

  it("skips every queued micro-task of an ended job in one pump, so the next job's work goes out at once", async () => {
    const { tracker, dispatcher, sent, submit } = setup();
    const ended = submit(10_000); // far more than one swarmlet's prefetch depth
    await dispatcher.enqueue(ended.ready.map((task) => task.id));
    tracker.failed(ended.ready[0]!.id, 1, 'boom');
    const next = submit(1);
    await dispatcher.enqueue(next.ready.map((task) => task.id));
    await dispatcher.pump();
    expect(sent.map(([id]) => id)).toEqual([next.ready[0]!.id]);
    expect(dispatcher.queued.get('noop')).toBe(0);
  });

  it("sizes each swarmlet's batch on the usage model's estimate: one micro-task before any completion, ~2 ms of work from the first", async () => {
    const usage = new UsageTracker(new Map());
    const { dispatcher, sent, submit, swarmlet, broker } = setup(usage);
    await dispatcher.enqueue(submit(1_000).ready.map((task) => task.id));
    await dispatcher.pump();
    expect(sent).toHaveLength(1);
    const [first] = sent.splice(0);
    swarmlet.inFlight.delete(first![0]);
    usage.completed('noop', first![0], 't0', 0.01, 1, null); // 10 µs
    await dispatcher.pump();
    expect(sent.length).toBeGreaterThanOrEqual(199); // 2 ms ÷ 10 µs (in floating point)
    expect(sent.length).toBeLessThanOrEqual(200);
    // What is queued now is priced at the estimate too (the SLA queue's fair share and admission read it).
    await dispatcher.enqueue(submit(1).ready.map((task) => task.id));
    const tasks = await broker.take('noop', 1_000);
    expect(tasks.at(-1)!.costMs).toBeCloseTo(0.01, 6);
  });
});
