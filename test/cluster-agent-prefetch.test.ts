import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { DEFAULT_USAGE_MODEL } from '../src/predict/usage-model.js';
import { MemoryBroker } from '../src/runtime/brokers/memory-broker.js';
import { AgentWork } from '../src/runtime/cluster/agent-work.js';
import { LocalSwarmlet } from '../src/runtime/cluster/agent-swarmlets.js';
import { MODE_RUN, RESULT_OK, type WireResult } from '../src/runtime/local/wire.js';
import type { WireTask } from '../src/runtime/local/ipc.js';
import type { Provider } from '../src/runtime/provider.js';

// The agent's dispatch alone, with a memory broker: how many micro-tasks a swarmlet is sent follows the agent's usage
// model (the same model and sampling as the director's and the embedded runtime's), fed by the results it takes in.
function setup(hintDurationMs?: number) {
  const broker = new MemoryBroker({ clock: { nowMs: () => 0 } });
  const sent: WireTask[] = [];
  const provider = { dispatch: (_id: string, wire: WireTask[]) => void sent.push(...wire) } as unknown as Provider;
  const work = new AgentWork({
    clock: { nowMs: () => 0 },
    broker,
    redis: { xadd: async () => '1-0' } as unknown as Redis, // the results' log entries go nowhere
    provider,
    nodeId: 'n1',
    logKey: 'log',
    hintDurationMs: () => hintDurationMs,
  });
  const swarmlet = new LocalSwarmlet('s1', 's1#1', 'tiny', 'h');
  swarmlet.transition('warming');
  swarmlet.transition('idle');
  const fill = async (count: number) =>
    broker.enqueue(
      Array.from({ length: count }, (_, i) => ({
        id: i + 1,
        taskType: 'tiny',
        priority: 1,
        attempt: 1,
        maxAttempts: 3,
        payload: { mode: MODE_RUN, input: i, depth: 0, deps: null, label: `t${i}` },
      })),
    );
  /** The first `count` micro-tasks sent come back, taking `ms` ± 10 %. */
  const finish = (count: number, ms: number) => {
    const results: WireResult[] = sent
      .splice(0, count)
      .map(([id]) => [id, RESULT_OK, null, ms * 1000 * (id % 2 === 0 ? 1.1 : 0.9)]);
    work.stage(swarmlet, results);
  };
  return { work, swarmlet, sent, fill, finish };
}

const { shiftAfter } = DEFAULT_USAGE_MODEL;

describe("the agent's prefetch reads its usage model", () => {
  it('one micro-task before any completion, ~2 ms of work from the first; one again within a few once they turn slow', async () => {
    const { work, swarmlet, sent, fill, finish } = setup();
    await fill(10_000);
    await work.pump([swarmlet]);
    expect(sent).toHaveLength(1);
    finish(1, 0.01);
    expect(work.roomOf(swarmlet)).toBeGreaterThanOrEqual(199); // 2 ms ÷ 10 µs
    await work.pump([swarmlet]);
    expect(sent.length).toBeGreaterThanOrEqual(199);
    // Enough history for the model to tell a runaway from a shift (it observes 1 in 64 of these: ~10 of them).
    for (let done = 0; done < 800; done += sent.length) {
      finish(sent.length, 0.01);
      await work.pump([swarmlet]);
    }
    finish(shiftAfter - 1, 50); // slow ones, fewer than a shift: runaways still
    expect(work.roomOf(swarmlet) + swarmlet.inFlight.size).toBeGreaterThan(100);
    finish(1, 50); // one more in a row: the type now takes 50 ms, one at a time
    expect(work.roomOf(swarmlet) + swarmlet.inFlight.size).toBe(1);
  });

  it("the type's hint until it has history", async () => {
    const { work, swarmlet } = setup(0.02);
    expect(work.roomOf(swarmlet)).toBe(100);
  });
});
