import { describe, expect, it } from 'vitest';
import { adaptivePolicy } from '../src/decide/policies/adaptive.js';
import type { Policy } from '../src/decide/policy.js';
import { DEFAULT_HEALTH_OPTIONS } from '../src/place/node-health.js';
import { parseNodeAdvertisement } from '../src/place/node-probe.js';
import { LocalSwarmlet } from '../src/runtime/cluster/agent-swarmlets.js';
import type { LiveNode } from '../src/runtime/cluster/cluster-pool.js';
import { DirectorLoop } from '../src/runtime/cluster/director-loop.js';
import type { SwarmletStatus } from '../src/runtime/cluster/protocol.js';

const pool = { swarmletCpu: 1, swarmletMemoryMb: 60, slotLifeMs: 60_000, health: DEFAULT_HEALTH_OPTIONS };

function liveNode(nodeId: string, atMs: number, swarmlets: SwarmletStatus[]): LiveNode {
  const parsed = parseNodeAdvertisement({
    nodeId,
    kind: 'server',
    capacity: { cpu: 8, memoryMb: 8_192 },
    pricePerCoreSecond: 0.0001,
  });
  if (!parsed.ok) throw parsed.error;
  return {
    advertisement: parsed.value,
    heartbeat: { advertisement: {}, atMs, idle: true, swarmlets, completed: 0, failed: 0 },
  };
}

describe("the director's loop", () => {
  it("tells the policy how long a type's oldest micro-task has run, from agents' heartbeats (before any ends)", () => {
    const loop = new DirectorLoop({ policy: adaptivePolicy() as Policy, tickMs: 200, maxAttempts: 3, pool });
    loop.book.addTaskType({ taskType: 'long', hasJoin: false, hintDurationMs: undefined });
    const job = { tasks: Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, type: 'long', input: i })) };
    const { ready } = loop.book.apply({ kind: 'job', jobKey: 'j', job, modules: ['long'] }, 0);
    for (const task of ready) loop.book.toBrokerTask(task);
    const busy = (id: string, busyForMs: number): SwarmletStatus => ({
      id,
      taskType: 'long',
      state: 'busy',
      inFlight: 1,
      tasksDone: 0,
      busyForMs,
    });
    const nodes = new Map([
      ['a', liveNode('a', 9_000, [busy('s1', 4_000), busy('s2', 7_500)])],
      ['b', liveNode('b', 9_000, [{ id: 's3', taskType: 'long', state: 'idle', inFlight: 0, tasksDone: 0 }])],
    ]);
    loop.pool.observe(nodes, 10_000);
    const { snapshot } = loop.decide(nodes, new Map([['long', 1]]), 10_000);
    const load = snapshot.load.find((l) => l.taskType === 'long');
    expect(load?.runningForMs).toBe(7_500);
    expect(load?.ready).toBe(1);
  });

  it("an agent's swarmlet reports how long its oldest micro-task has run, and nothing while it runs none", () => {
    const swarmlet = new LocalSwarmlet('s1', 's1#1', 'long', 'hash');
    expect(swarmlet.status(5_000).busyForMs).toBeUndefined();
    swarmlet.inFlight.add(7);
    swarmlet.progressAtMs = 1_000;
    expect(swarmlet.status(5_000).busyForMs).toBe(4_000);
  });

  it("shows the policy each type's predicted duration from the book's usage model (the estimate admission and lease batches read)", () => {
    const loop = new DirectorLoop({ policy: adaptivePolicy() as Policy, tickMs: 200, maxAttempts: 3, pool });
    loop.book.addTaskType({ taskType: 'square', hasJoin: false, hintDurationMs: 40 });
    const job = { tasks: [1, 2, 3, 4].map((n) => ({ id: `t${n}`, type: 'square', input: n })) };
    for (const task of loop.book.apply({ kind: 'job', jobKey: 'a', job, modules: ['square'] }, 1).ready)
      loop.book.toBrokerTask(task);
    const loadAt = (nowMs: number) =>
      loop.decide(new Map(), new Map(), nowMs).snapshot.load.find((l) => l.taskType === 'square');
    expect(loadAt(1_000)?.predictedDurationMs).toBe(40); // the hint
    const results = [1, 2, 3].map((id) => ({
      id,
      status: 'ok' as const,
      value: id * id,
      durationUs: 5_000,
      attempt: 1,
    }));
    loop.book.apply({ kind: 'results', nodeId: 'n1', results }, 2);
    const load = loadAt(2_000);
    expect(load?.predictedDurationMs).toBeCloseTo(5, 6);
    expect(load?.predictedDurationMs).toBe(loop.book.usage.predictedDurationMs('square'));
  });

  it("shows the policy where each type's work leads (successors) and how good its duration predictions have been", () => {
    const loop = new DirectorLoop({ policy: adaptivePolicy() as Policy, tickMs: 200, maxAttempts: 3, pool });
    loop.book.addTaskType({ taskType: 'work', hasJoin: false, hintDurationMs: undefined });
    loop.book.addTaskType({ taskType: 'join', hasJoin: false, hintDurationMs: undefined });
    const job = {
      tasks: [
        ...[1, 2, 3, 4].map((n) => ({ id: `w${n}`, type: 'work', input: n })),
        { id: 'j', type: 'join', input: 0, deps: ['w1', 'w2', 'w3', 'w4'] },
      ],
    };
    for (const task of loop.book.apply({ kind: 'job', jobKey: 'a', job, modules: ['work', 'join'] }, 1).ready)
      loop.book.toBrokerTask(task);
    const loadOf = (nowMs: number, type: string) =>
      loop.decide(new Map(), new Map(), nowMs).snapshot.load.find((l) => l.taskType === type);
    expect(loadOf(1_000, 'work')).toMatchObject({ successors: ['join'] });
    expect(loadOf(1_000, 'work')?.durationErrorRatio).toBeUndefined();
    const results = [1, 2, 3].map((id) => ({ id, status: 'ok' as const, value: id, durationUs: 5_000, attempt: 1 }));
    loop.book.apply({ kind: 'results', nodeId: 'n1', results }, 2);
    expect(loadOf(2_000, 'work')?.durationErrorRatio).toBe(loop.book.usage.durationErrorRatio('work'));
    expect(loadOf(2_000, 'work')?.durationErrorRatio).toBeCloseTo(0, 6);
  });
});
