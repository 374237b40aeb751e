import { describe, expect, it } from 'vitest';
import { LIMITS } from '../src/core/limits.js';
import { JobBook } from '../src/runtime/cluster/job-book.js';
import type { LogEntry } from '../src/runtime/cluster/protocol.js';

const book = (): JobBook => {
  const b = new JobBook(LIMITS, 3);
  b.addTaskType({ taskType: 'sort', hasJoin: true });
  b.addTaskType({ taskType: 'square', hasJoin: false });
  return b;
};
const job = (jobKey: string, tasks: { id: string; type: string; input: unknown; deps?: string[] }[]): LogEntry => ({
  kind: 'job',
  jobKey,
  job: { tasks },
  modules: [],
});
const results = (...rs: [number, 'ok' | 'split' | 'dead', unknown][]): LogEntry => ({
  kind: 'results',
  nodeId: 'n1',
  results: rs.map(([id, status, value]) => ({ id, status, value, durationUs: 1000, attempt: 1 })),
});

/**
 * Applies entries the way the director does (ready micro-tasks are handed out), collecting what it hands out and
 * finishes.
 */
function run(b: JobBook, entries: LogEntry[]): { handedOut: number[]; finished: string[] } {
  const handedOut: number[] = [];
  const finished: string[] = [];
  entries.forEach((entry, i) => {
    const out = b.apply(entry, 1_000 + i);
    for (const task of out.ready) handedOut.push(b.toBrokerTask(task).id);
    for (const f of out.finished)
      finished.push(`${f.jobKey}:${f.outcome.status}:${JSON.stringify(f.outcome.output ?? f.outcome.error)}`);
  });
  return { handedOut, finished };
}

describe('the director job book (rebuilt from the log alone)', () => {
  const log: LogEntry[] = [
    job('a', [
      { id: 'x', type: 'square', input: 2 },
      { id: 'y', type: 'square', input: 3, deps: ['x'] },
    ]),
    job('b', [{ id: 'z', type: 'square', input: 4 }]),
    results([1, 'ok', 4]),
    results([3, 'ok', 16], [2, 'ok', 9]),
  ];

  it('hands out micro-tasks as their dependencies finish and finishes each job once with its output', () => {
    const { handedOut, finished } = run(book(), log);
    expect(handedOut).toEqual([1, 3, 2]);
    expect(finished).toEqual(['a:done:{"y":9}', 'b:done:{"z":16}']);
  });

  it('replaying the same log gives the same micro-task ids and outcomes (a restarted director carries on)', () => {
    const first = run(book(), log.slice(0, 3));
    const restarted = book();
    const replay = run(restarted, log.slice(0, 3));
    expect(replay).toEqual(first);
    // What is handed out but unreported after the replay is exactly what must be enqueued again.
    expect(
      restarted
        .outstanding()
        .map((t) => t.id)
        .sort(),
    ).toEqual([2, 3]);
    expect(run(restarted, log.slice(3)).finished).toEqual(['a:done:{"y":9}', 'b:done:{"z":16}']);
  });

  it('a second result for a micro-task (a re-run after failover) is counted and ignored', () => {
    const b = book();
    const { finished } = run(b, [...log.slice(0, 3), results([1, 'ok', 999]), log[3]!]);
    expect(finished).toEqual(['a:done:{"y":9}', 'b:done:{"z":16}']);
    expect(b.duplicateResults).toBe(1);
  });

  it("a result with no attempts left fails its job with the task's message", () => {
    const { finished } = run(book(), [
      job('c', [{ id: 'w', type: 'square', input: 1 }]),
      results([1, 'dead', { message: 'boom' }]),
    ]);
    expect(finished).toEqual(['c:failed:"micro-task w (square) failed after 1 attempt(s): boom"']);
  });

  it('a job it cannot run (unknown type) finishes at once as failed with the reason; a repeated job key runs once', () => {
    const b = book();
    const { finished, handedOut } = run(b, [
      job('d', [{ id: 'q', type: 'nope', input: 1 }]),
      job('e', [{ id: 'q', type: 'square', input: 1 }]),
      job('e', [{ id: 'q', type: 'square', input: 1 }]),
    ]);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatch(/^d:failed:"job\.tasks\[0\]\.type: unknown/);
    expect(handedOut).toEqual([1]);
  });

  it("one agent's refusal of a bundle fails nothing; the director's verdict that every live agent refused it fails the jobs of the type", () => {
    const b = book();
    const withModules = (entry: LogEntry, modules: string[]) => ({ ...entry, modules }) as LogEntry;
    const refusal = { nodeId: 'a1', taskType: 'square', hash: 'h1', reason: 'it is unsigned. Fix: sign it' };
    const { finished } = run(b, [
      withModules(job('f', [{ id: 'q', type: 'square', input: 1 }]), ['square']),
      withModules(job('g', [{ id: 'q', type: 'sort', input: [2, 1] }]), ['sort']),
      { kind: 'refusal', ...refusal },
    ]);
    expect(finished).toEqual([]);
    expect(b.runningTaskTypes()).toEqual(new Set(['square', 'sort']));
    const verdict = run(b, [
      {
        kind: 'unrunnable',
        taskType: 'square',
        hash: 'h1',
        refusals: [
          { nodeId: 'a1', reason: refusal.reason },
          { nodeId: 'a2', reason: 'it is signed by key k2. Fix: sign with a key the agent trusts' },
        ],
      },
    ]);
    expect(verdict.finished).toEqual([
      'f:failed:"task type \\"square\\": bundle h1 refused by agent a1: it is unsigned. Fix: sign it; refused by agent a2: it is signed by key k2. Fix: sign with a key the agent trusts"',
    ]);
    expect(b.runningTaskTypes()).toEqual(new Set(['sort']));
  });
});

describe("per-job progress (each client sees its own job, not the cluster's totals)", () => {
  it("counts each job's micro-tasks per type, created and done, including those a split creates", () => {
    const b = book();
    b.addTaskType({ taskType: 'square-sum', hasJoin: true });
    run(b, [
      job('a', [
        { id: 'x', type: 'square', input: 2 },
        { id: 'y', type: 'square', input: 3, deps: ['x'] },
      ]),
      { kind: 'job', jobKey: 's', job: { type: 'square-sum', input: { from: 0, to: 1 } }, modules: [] },
    ]);
    const byKey = () => Object.fromEntries(b.progress().map((p) => [p.jobKey, p.taskTypes]));
    expect(byKey()).toEqual({
      a: [{ taskType: 'square', done: 0, total: 2 }],
      s: [{ taskType: 'square-sum', done: 0, total: 1 }],
    });
    // job s's root splits into two children (and a join): its total grows; job a is untouched.
    run(b, [
      results([3, 'split', [{ input: { from: 0, to: 0 } }, { input: { from: 0, to: 1 } }]]),
      results([1, 'ok', 4]),
    ]);
    expect(byKey().a).toEqual([{ taskType: 'square', done: 1, total: 2 }]);
    expect(byKey().s).toEqual([{ taskType: 'square-sum', done: 1, total: 3 }]);
    // Both children done: the parent comes back as its join, one more micro-task of the type.
    run(b, [results([4, 'ok', 0], [5, 'ok', 0])]);
    expect(byKey().s).toEqual([{ taskType: 'square-sum', done: 3, total: 4 }]);
  });

  it("counts each job's micro-tasks running per type: handed out, not reported (a duplicate or a re-hand changes none)", () => {
    const b = book();
    const running = (jobKey: string) =>
      b
        .views(2_000)
        .find((v) => v.id === jobKey)!
        .byType.map(({ taskType, running }) => ({ taskType, running }));
    run(b, [
      job('a', [
        { id: 'x', type: 'square', input: 2 },
        { id: 'y', type: 'square', input: 3 },
        { id: 'z', type: 'sort', input: [2, 1], deps: ['x'] },
      ]),
      job('b', [{ id: 'w', type: 'square', input: 4 }]),
    ]);
    expect(running('a')).toEqual([
      { taskType: 'square', running: 2 },
      { taskType: 'sort', running: 0 },
    ]);
    expect(running('b')).toEqual([{ taskType: 'square', running: 1 }]);
    // A replayed director hands out what is outstanding again: still two running, not four.
    for (const task of b.outstanding()) b.toBrokerTask(task);
    expect(running('a')[0]).toEqual({ taskType: 'square', running: 2 });
    run(b, [results([1, 'ok', 4]), results([1, 'ok', 4])]); // x done (twice: the second a duplicate); z handed out
    expect(running('a')).toEqual([
      { taskType: 'square', running: 1 },
      { taskType: 'sort', running: 1 },
    ]);
    expect(running('b')).toEqual([{ taskType: 'square', running: 1 }]);
  });
});

describe("a failed job's waiting micro-tasks", () => {
  it('are listed for cancelling (those handed to the broker and not reported), so they do not run for nothing', () => {
    const b = book();
    run(b, [
      job('f', [
        { id: 'a', type: 'square', input: 1 },
        { id: 'b', type: 'square', input: 2 },
        { id: 'c', type: 'square', input: 3 },
      ]),
    ]);
    b.apply(results([2, 'ok', 4]), 2_000);
    const { finished } = b.apply(results([1, 'dead', { message: 'boom' }]), 3_000);
    expect(finished).toHaveLength(1);
    expect(finished[0]!.outcome.status).toBe('failed');
    expect(finished[0]!.cancel).toEqual([{ id: 3, taskType: 'square' }]);
  });

  it('a job that completes has nothing to cancel', () => {
    const b = book();
    run(b, [job('g', [{ id: 'a', type: 'square', input: 1 }])]);
    expect(b.apply(results([1, 'ok', 1]), 2_000).finished[0]!.cancel).toEqual([]);
  });
});

describe('a job key submitted again', () => {
  it('while its job runs is the same run (a client that retried its append)', () => {
    const { handedOut, finished } = run(book(), [
      job('k', [{ id: 'x', type: 'square', input: 2 }]),
      job('k', [{ id: 'x', type: 'square', input: 2 }]),
      results([1, 'ok', 4]),
    ]);
    expect(handedOut).toEqual([1]);
    expect(finished).toEqual(['k:done:{"x":4}']);
  });

  it('after its job ended runs again: clients append only when the outcome is gone (deleted, garbled), so never silence', () => {
    const { handedOut, finished } = run(book(), [
      job('k', [{ id: 'x', type: 'square', input: 2 }]),
      results([1, 'ok', 4]),
      job('k', [{ id: 'x', type: 'square', input: 3 }]),
      results([2, 'ok', 9]),
    ]);
    expect(handedOut).toEqual([1, 2]);
    expect(finished).toEqual(['k:done:{"x":4}', 'k:done:{"x":9}']);
  });
});

describe('faults: what went wrong and was retried reaches the client of its job', () => {
  const fault = (ids: number[], reason: string): LogEntry => ({
    kind: 'fault',
    nodeId: 'laptop',
    taskType: 'square',
    ids,
    reason,
    capBreak: true,
  });
  const reason =
    "swarmlet s1 was stopped: the node's consent cap maxMemoryMb 256 MB was exceeded (301 MB held) while running it";

  it('in the progress of the job while it runs, and in its outcome, bounded; other jobs hear nothing', () => {
    const b = book();
    run(b, [
      job('a', [
        { id: 'x', type: 'square', input: 2 },
        { id: 'y', type: 'square', input: 3 },
      ]),
      job('b', [{ id: 'z', type: 'square', input: 4 }]),
      fault([1], reason),
    ]);
    const said = `micro-task 1 (square) on laptop: ${reason}; retried`;
    expect(b.progress().map((p) => [p.jobKey, p.faults])).toEqual([
      ['a', [said]],
      ['b', []],
    ]);
    for (let i = 0; i < 25; i++) b.apply(fault([2], 'swarmlet s2 killed by SIGKILL while running it'), 2_000 + i);
    const finished = b.apply(results([1, 'ok', 4], [2, 'ok', 9]), 3_000).finished;
    const faults = finished.find((f) => f.jobKey === 'a')!.outcome.faults!;
    expect(faults).toHaveLength(21);
    expect(faults[0]).toBe(said);
    expect(faults.at(-1)).toBe('… and 6 more');
    expect(b.apply(results([3, 'ok', 16]), 3_001).finished[0]!.outcome.faults).toBeUndefined();
  });

  it('a fault for a micro-task no running job holds is ignored (a late entry, a replay past its job)', () => {
    const b = book();
    expect(b.apply(fault([99], reason), 1_000)).toEqual({ ready: [], finished: [] });
  });
});

describe("each type's duration, learned from the results in the log (issue 13)", () => {
  const timed = (durationUs: number, ...rs: [number, 'ok' | 'split', unknown][]): LogEntry => ({
    kind: 'results',
    nodeId: 'n1',
    results: rs.map(([id, status, value]) => ({ id, status, value, durationUs, attempt: 1 })),
  });
  const log: LogEntry[] = [
    job('a', [
      { id: 'x', type: 'square', input: 2 },
      { id: 'y', type: 'square', input: 3 },
      { id: 'w', type: 'square', input: 5 },
      { id: 'z', type: 'square', input: 4, deps: ['x', 'y', 'w'] },
    ]),
    { kind: 'job', jobKey: 's', job: { type: 'sort', input: [3, 1, 2] }, modules: [] },
    timed(4_000, [1, 'ok', 4]),
    timed(9_000, [2, 'ok', 9]),
    // The sort's root splits: a split is learned apart and leaves the run's estimate alone.
    timed(500_000, [5, 'split', [{ input: [3] }, { input: [1, 2] }]]),
    timed(6_000, [3, 'ok', 25]),
  ];
  const withHint = (): JobBook => {
    const b = book();
    b.addTaskType({ taskType: 'square', hasJoin: false, hintDurationMs: 40 });
    return b;
  };

  it('is the estimate the director prices queued micro-tasks at (and admits and batches on); a replay learns the same', () => {
    const b = withHint();
    const costs: number[] = [];
    log.forEach((entry, i) => {
      for (const task of b.apply(entry, 1_000 + i).ready)
        if (task.taskType === 'square') costs.push(b.toBrokerTask(task).costMs!);
    });
    // x, y and w priced at the hint (nothing measured); z, ready once the three ran, at what they took (≈ 6 ms).
    expect(costs.slice(0, 3)).toEqual([40, 40, 40]);
    expect(costs[3]).toBe(b.usage.predictedDurationMs('square'));
    expect(costs[3]).toBeGreaterThan(4);
    expect(costs[3]).toBeLessThan(9);
    expect(b.usage.predictedDurationMs('sort')).toBeUndefined(); // only a split has run
    const restarted = withHint();
    run(restarted, log);
    expect(restarted.usage.predictedDurationMs('square')).toBe(b.usage.predictedDurationMs('square'));
  });

  it("a node's lost micro-tasks (dead, 0 ms: they never ran to an end) teach it nothing", () => {
    const b = withHint();
    const many = job(
      'm',
      Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, type: 'square', input: i })),
    );
    run(b, [many, timed(5_000, ...Array.from({ length: 12 }, (_, i): [number, 'ok', unknown] => [i + 1, 'ok', 0]))]);
    const before = b.usage.predictedDurationMs('square')!;
    expect(before).toBeCloseTo(5, 6);
    const lost: LogEntry = {
      kind: 'results',
      nodeId: 'n1',
      results: [13, 14, 15, 16, 17, 18, 19, 20].map((id) => ({
        id,
        status: 'dead',
        value: { message: 'node left' },
        durationUs: 0,
        attempt: 3,
      })),
    };
    run(b, [lost]);
    expect(b.usage.predictedDurationMs('square')).toBe(before);
  });
});
