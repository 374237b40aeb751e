import fc from 'fast-check';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBaseline, WORKFLOW_BASELINES } from '../src/sim/workflow/baselines.js';
import { checkReplay } from '../src/sim/workflow/check.js';
import { loadWorkflowFile, parseWorkflow, type Workflow } from '../src/sim/workflow/load.js';
import type { ReplayResult } from '../src/sim/workflow/replay.js';
import { byWorkSplit, equalSplit } from '../src/sim/workflow/static-schedulers.js';

const SRA = join(resolve(import.meta.dirname, 'fixtures/wfcommons'), 'srasearch-chameleon-10a-001.json');

/** A WfFormat 1.5 document from [name, parents, runtime in s]: the type is the name's part before `_ID`. */
function workflowOf(tasks: readonly (readonly [string, readonly string[], number])[]): Workflow {
  return parseWorkflow(
    {
      schemaVersion: '1.5',
      workflow: {
        specification: { tasks: tasks.map(([id, parents]) => ({ id, name: id, parents, children: [] })) },
        execution: { tasks: tasks.map(([id, , runtimeInSeconds]) => ({ id, runtimeInSeconds })) },
      },
    },
    'test.json',
  );
}

function startsMs(workflow: Workflow, result: ReplayResult): Record<string, number> {
  return Object.fromEntries(workflow.tasks.map((task, i) => [task.id, result.taskStartMs[i]!]));
}

describe('list: clairvoyant list scheduling by upward rank', () => {
  // p_ID1 → q_ID2 is the long chain; the r tasks come first in the file but rank lower.
  const chain = workflowOf([
    ['r_ID3', [], 2],
    ['r_ID4', [], 2],
    ['p_ID1', [], 1],
    ['q_ID2', ['p_ID1'], 4],
  ]);

  it('starts the highest-ranked ready task first and meets the lower bound', () => {
    const result = runBaseline('list', chain, { slots: 2, coldStartMs: 0 });
    expect(startsMs(chain, result)).toEqual({ r_ID3: 0, r_ID4: 2000, p_ID1: 0, q_ID2: 1000 });
    expect(result.makespanMs).toBe(5000); // the critical path, 1 + 4 s
    expect(checkReplay(chain, result)).toEqual([]);
  });

  it('pays a cold start at a slot’s first task and when it changes type, not for a warm slot', () => {
    const result = runBaseline('list', chain, { slots: 2, coldStartMs: 100 });
    expect(startsMs(chain, result)).toEqual({ r_ID3: 100, r_ID4: 2100, p_ID1: 100, q_ID2: 1200 });
    expect(result.makespanMs).toBe(5200);
    expect(result.coldStarts).toBe(3);
    expect(result.startingMs).toBe(300);
    expect(result.busyMs).toBe(9000);
    expect(result.heldMs).toBe(2 * 5200); // a fixed pool: both slots held from 0 to the end
    expect(result.idleMs).toBe(2 * 5200 - 9000 - 300);
  });
});

/**
 * Textbook list scheduling written independently of the replay: from one instant to the next,
 * end what ends, then start ready tasks by rank (recomputed here by recursion) on the free slots.
 */
function referenceListStarts(workflow: Workflow, slots: number): number[] {
  const tasks = workflow.tasks;
  const rank = new Map<number, number>();
  const rankOf = (i: number): number => {
    if (!rank.has(i)) rank.set(i, tasks[i]!.runtimeMs + Math.max(0, ...tasks[i]!.children.map(rankOf)));
    return rank.get(i)!;
  };
  const start: number[] = tasks.map(() => Number.NaN);
  const ended = tasks.map(() => false);
  let running: number[] = [];
  let nowMs = 0;
  while (ended.some((done) => !done)) {
    const ready = tasks
      .map((_, i) => i)
      .filter((i) => Number.isNaN(start[i]!) && tasks[i]!.parents.every((p) => ended[p]))
      .sort((a, b) => rankOf(b) - rankOf(a) || a - b);
    for (const i of ready.slice(0, slots - running.length)) {
      start[i] = nowMs;
      running.push(i);
    }
    nowMs = Math.min(...running.map((i) => start[i]! + tasks[i]!.runtimeMs));
    for (const i of running) if (start[i]! + tasks[i]!.runtimeMs === nowMs) ended[i] = true;
    running = running.filter((i) => !ended[i]);
  }
  return start;
}

/** Random DAGs of up to 30 tasks of 3 types, runtimes 0–5 s (ties and zeros): task k depends on earlier ones only. */
const randomDag = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.array(fc.nat(), { maxLength: 3 })), {
    minLength: 1,
    maxLength: 30,
  })
  .map((spec) =>
    workflowOf(
      spec.map(([seconds, parents], k) => [
        `t${k % 3}_ID${k}`,
        k === 0 ? [] : [...new Set(parents.map((p) => `t${(p % k) % 3}_ID${p % k}`))],
        seconds,
      ]),
    ),
  );

describe('on random DAGs', () => {
  it('every baseline keeps every invariant, with and without cold starts', () => {
    fc.assert(
      fc.property(
        randomDag,
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 100, 20_000),
        (workflow, slots, cold) => {
          for (const name of WORKFLOW_BASELINES) {
            const result = runBaseline(name, workflow, { slots, coldStartMs: cold });
            expect(checkReplay(workflow, result), name).toEqual([]);
          }
        },
      ),
      { numRuns: 300, seed: 13 },
    );
  });

  it('list starts every task when an independent list scheduler does (no cold start)', () => {
    fc.assert(
      fc.property(randomDag, fc.integer({ min: 1, max: 5 }), (workflow, slots) => {
        const result = runBaseline('list', workflow, { slots, coldStartMs: 0 });
        expect(Array.from(result.taskStartMs)).toEqual(referenceListStarts(workflow, slots));
        expect(checkReplay(workflow, result)).toEqual([]);
      }),
      { numRuns: 300, seed: 13 },
    );
  });
});

describe('static splits', () => {
  const three = workflowOf([
    ...Array.from({ length: 6 }, (_, k) => [`a_ID${k}`, [], 1] as const),
    ['b_ID10', [], 1],
    ['b_ID11', [], 1],
    ['c_ID20', [], 0.5],
  ]);

  it('static-equal: ⌊slots ÷ types⌋ each, the first types one more; fewer slots than types share', () => {
    expect(equalSplit(three, 8)).toEqual([[0], [0], [0], [1], [1], [1], [2], [2]]);
    expect(equalSplit(three, 3)).toEqual([[0], [1], [2]]);
    expect(equalSplit(three, 2)).toEqual([[0, 2], [1]]);
  });

  it('static-by-work: the next slot to the most work per slot, never more slots than tasks', () => {
    // Work a 6 s, b 2 s, c 0.5 s. One each, then a (6), a (3), then a tie at 2 goes to a, the earlier type.
    expect(byWorkSplit(three, 6)).toEqual([[0], [0], [0], [0], [1], [2]]);
    expect(byWorkSplit(three, 7)).toEqual([[0], [0], [0], [0], [1], [1], [2]]);
    expect(byWorkSplit(three, 20)).toHaveLength(9); // 6 + 2 + 1 tasks: the other 11 slots are never launched
    // Fewer slots than types: a and b get a slot, c joins the least loaded (b's).
    expect(byWorkSplit(three, 2)).toEqual([[0], [1, 2]]);
  });

  it('holds every slot from 0 to the end, and a shared slot serves the longest-waiting task', () => {
    const result = runBaseline('static-equal', three, { slots: 2, coldStartMs: 100 });
    expect(checkReplay(three, result)).toEqual([]);
    expect(result.heldMs).toBe(2 * result.makespanMs);
    const starts = startsMs(three, result);
    // Slot 0 serves a and c (c waits behind the a tasks ready before it, in file order); slot 1 serves b.
    expect(starts.c_ID20).toBeGreaterThan(starts.a_ID5!);
    expect(starts.b_ID11).toBe(1100);
  });
});

describe('hpa: the Kubernetes HPA formula per task type', () => {
  it('scales up by at most max(+100 %, +4) every 15 s', () => {
    const flat = workflowOf(Array.from({ length: 20 }, (_, k) => [`w_ID${k}`, [], 100] as const));
    const result = runBaseline('hpa', flat, { slots: 20, coldStartMs: 100 });
    const starts = Object.values(startsMs(flat, result)).sort((a, b) => a - b);
    // 4 replicas at 0 s, 8 at 15 s, 16 at 30 s, 20 at 45 s.
    expect(starts.filter((t) => t === 100)).toHaveLength(4);
    expect(starts.filter((t) => t === 15_100)).toHaveLength(4);
    expect(starts.filter((t) => t === 30_100)).toHaveLength(8);
    expect(starts.filter((t) => t === 45_100)).toHaveLength(4);
    expect(result.makespanMs).toBe(145_100);
    expect(checkReplay(flat, result)).toEqual([]);
  });

  it('keeps an idle type’s replicas for the 300 s scale-down window, while the next type waits for a slot', () => {
    const stages = workflowOf([
      ['a_ID1', [], 10],
      ['b_ID2', ['a_ID1'], 10],
    ]);
    const result = runBaseline('hpa', stages, { slots: 1, coldStartMs: 100 });
    // a's recommendation of 1 at 0 s leaves the window after 300 s; b's pending replica starts then.
    expect(startsMs(stages, result)).toEqual({ a_ID1: 100, b_ID2: 300_100 });
    expect(result.makespanMs).toBe(310_100);
    expect(result.coldStarts).toBe(2);
  });
});

describe('ray: launch for pending demand, stop after 60 s idle', () => {
  it('stops a node idle for 60 s at the next update', () => {
    const fork = workflowOf([
      ['a_ID1', [], 100],
      ['a_ID2', [], 10],
      ['a_ID3', ['a_ID1'], 10],
    ]);
    const result = runBaseline('ray', fork, { slots: 2, coldStartMs: 100 });
    expect(startsMs(fork, result)).toEqual({ a_ID1: 100, a_ID2: 100, a_ID3: 100_100 });
    expect(result.makespanMs).toBe(110_100);
    // a_ID2's node is idle from 10.1 s: 64.9 s idle at the update of 75 s, stopped then.
    expect(result.heldMs).toBe(110_100 + 75_000);
    expect(result.coldStarts).toBe(2);
  });

  it('launches at most max(5, running nodes) at a time, every 5 s', () => {
    const flat = workflowOf(Array.from({ length: 20 }, (_, k) => [`w_ID${k}`, [], 100] as const));
    const result = runBaseline('ray', flat, { slots: 20, coldStartMs: 100 });
    const starts = Object.values(startsMs(flat, result)).sort((a, b) => a - b);
    expect(starts.filter((t) => t === 100)).toHaveLength(5);
    expect(starts.filter((t) => t === 5_100)).toHaveLength(5);
    expect(starts.filter((t) => t === 10_100)).toHaveLength(10);
    expect(result.peakHeld).toBe(20);
  });

  it('loads another type on a free node rather than wait (a cold start)', () => {
    const stages = workflowOf([
      ['a_ID1', [], 10],
      ['b_ID2', ['a_ID1'], 10],
    ]);
    const result = runBaseline('ray', stages, { slots: 1, coldStartMs: 100 });
    expect(startsMs(stages, result)).toEqual({ a_ID1: 100, b_ID2: 10_200 });
    expect(result.coldStarts).toBe(2);
  });
});

describe('the invariant checker', () => {
  it('passes every baseline on a real instance and catches a corrupted replay', async () => {
    const workflow = await loadWorkflowFile(SRA);
    for (const name of WORKFLOW_BASELINES) {
      for (const slots of [1, 3, 8]) expect(checkReplay(workflow, runBaseline(name, workflow, { slots }))).toEqual([]);
    }
    const good = runBaseline('list', workflow, { slots: 3 });
    const child = workflow.tasks.findIndex((t) => t.id === 'bowtie2_ID0000003');
    const early = {
      ...good,
      taskStartMs: Float64Array.from(good.taskStartMs),
      taskEndMs: Float64Array.from(good.taskEndMs),
    };
    early.taskStartMs[child] = 0;
    early.taskEndMs[child] = workflow.tasks[child]!.runtimeMs;
    expect(checkReplay(workflow, early).join('\n')).toMatch(/bowtie2_ID0000003 started at 0 ms, before its parent/);
    const twice = { ...good, taskRuns: Int32Array.from(good.taskRuns) };
    twice.taskRuns[0] = 2;
    expect(checkReplay(workflow, twice)).toEqual(['task bowtie2-build_ID0000001 ran 2 times']);
    const crowded = { ...good, slots: 2, taskSlot: good.taskSlot.map((slot) => slot % 2) };
    expect(checkReplay(workflow, crowded).join('\n')).toMatch(/3 tasks busy at .* on 2 slots/);
    const fast = { ...good, makespanMs: 1 };
    expect(checkReplay(workflow, fast).join('\n')).toMatch(/makespan 1 ms is not the last end/);
  });
});
