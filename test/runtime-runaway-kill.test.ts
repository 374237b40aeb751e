import { afterEach, describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/core/errors.js';
import { UsageTracker } from '../src/runtime/usage-tracker.js';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

describe("onRunaway: 'kill'", () => {
  it('stops every attempt of a runaway, not only the first', async () => {
    swarm = await Swarm.start({
      tasks: ['test/fixtures/busy.task.ts'],
      maxSwarmlets: 1,
      maxAttempts: 3,
      onRunaway: 'kill',
    });
    const warmup = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, type: 'busy', input: { ms: 5 } }));
    await swarm.run({ tasks: warmup });
    // 30 s against a ~5 ms prediction, on every attempt: unchecked, one retry alone would outlast the test.
    const startedAt = performance.now();
    const failure = await swarm.run({ type: 'busy', input: { ms: 30_000 } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).attempts).toBe(3);
    expect((failure as Error).message).toMatch(/its predicted duration \(anomaly\)/);
    const kills = swarm.summary().faults.filter((fault) => fault.charged === 'root');
    expect(kills).toHaveLength(3);
    expect(performance.now() - startedAt).toBeLessThan(25_000);
  });
});

describe('the runaway threshold has an absolute floor (virtual time)', () => {
  it('a 5 ms type stretched by CPU contention is not a runaway at 10 ms, nor at 400 ms; it is one long after', () => {
    const usage = new UsageTracker(new Map());
    let atMs = 0;
    for (let id = 1; id <= 200; id++) {
      atMs += 6;
      usage.completed('tiny', id, `t${id}`, 5 + (id % 3) * 0.2, atMs, null);
    }
    // Elapsed time under contention: 2×, then 80× the usual 5 ms.
    expect(usage.running('tiny', 1_000, 'slow', 10, atMs + 10)).toBeUndefined();
    expect(usage.running('tiny', 1_000, 'slow', 400, atMs + 400)).toBeUndefined();
    expect(usage.running('tiny', 1_000, 'slow', 5_000, atMs + 5_000)).toBeDefined();
  });
});
