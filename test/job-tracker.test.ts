import { describe, expect, it } from 'vitest';
import { InputError, TaskFailedError } from '../src/core/errors.js';
import { parseJob, type JobInput } from '../src/core/job.js';
import { LIMITS } from '../src/core/limits.js';
import { MODE_JOIN, MODE_RUN } from '../src/runtime/local/ipc.js';
import { JobTracker, type TrackerLimits } from '../src/runtime/jobs/job-tracker.js';
import type { MicroTask } from '../src/runtime/jobs/micro-task.js';

const TYPES = new Set(['hash', 'compress', 'sort']);

function tracker(limits: Partial<TrackerLimits> = {}): JobTracker {
  return new JobTracker(TYPES, { ...LIMITS, ...limits });
}

function submit(t: JobTracker, job: JobInput): ReturnType<JobTracker['submit']> {
  return t.submit(parseJob(job));
}

/** Start and complete a task the way the orchestrator does; returns what became ready. */
function runToDone(t: JobTracker, task: MicroTask, output: unknown): MicroTask[] {
  expect(t.start(task.id)).toBe(true);
  return t.completed(task.id, output);
}

const labels = (tasks: readonly MicroTask[]): string[] => tasks.map((task) => task.label).sort();

describe('JobTracker: single-root job', () => {
  it('runs the root and takes its output as the job output', () => {
    const t = tracker();
    const { job, ready } = submit(t, { type: 'hash', input: 'abc' });
    expect(labels(ready)).toEqual(['root']);
    expect(ready[0]!.input).toBe('abc');
    expect(ready[0]!.mode).toBe(MODE_RUN);
    expect(t.depOutputs(ready[0]!)).toBeNull();
    expect(job.status).toBe('running');
    expect(runToDone(t, ready[0]!, 'digest')).toEqual([]);
    expect(job.status).toBe('done');
    expect(job.output).toBe('digest');
    expect(job.done).toBe(1);
    expect(t.counts.get('hash')).toEqual({ total: 1, done: 1, blocked: 0 });
    expect(t.tasks.size).toBe(0); // an ended job's micro-tasks are released
  });

  it('rejects an unknown task type at submit, naming job.type, and creates nothing', () => {
    const t = tracker();
    expect(() => submit(t, { type: 'resize', input: 1 })).toThrow(InputError);
    try {
      submit(t, { type: 'resize', input: 1 });
    } catch (error) {
      expect((error as InputError).field).toBe('job.type');
      expect((error as InputError).message).toContain('"resize"');
    }
    expect(t.tasks.size).toBe(0);
    expect([...t.jobs.values()].filter((job) => job.status === 'running')).toEqual([]);
  });
});

describe('JobTracker: DAG job', () => {
  const dag: JobInput = {
    tasks: [
      { id: 'load', type: 'hash', input: 1 },
      { id: 'left', type: 'hash', input: 2, deps: ['load'] },
      { id: 'right', type: 'compress', input: 3, deps: ['load'] },
      { id: 'merge', type: 'compress', input: 4, deps: ['left', 'right'] },
      { id: 'audit', type: 'hash', input: 5, deps: ['load'] },
    ],
  };

  it('releases dependents only after all their deps completed, with dep outputs by label', () => {
    const t = tracker();
    const { job, ready } = submit(t, dag);
    expect(labels(ready)).toEqual(['load']);
    expect(t.counts.get('hash')).toEqual({ total: 3, done: 0, blocked: 2 });
    expect(t.counts.get('compress')).toEqual({ total: 2, done: 0, blocked: 2 });

    const afterLoad = runToDone(t, ready[0]!, 'L');
    expect(labels(afterLoad)).toEqual(['audit', 'left', 'right']);
    for (const task of afterLoad) expect(t.depOutputs(task)).toEqual({ load: 'L' });
    const byLabel = new Map(afterLoad.map((task) => [task.label, task]));

    expect(runToDone(t, byLabel.get('left')!, 'l-out')).toEqual([]); // merge still waits on right
    expect(t.counts.get('compress')!.blocked).toBe(1);
    const afterRight = runToDone(t, byLabel.get('right')!, 'r-out');
    expect(labels(afterRight)).toEqual(['merge']);
    expect(t.depOutputs(afterRight[0]!)).toEqual({ left: 'l-out', right: 'r-out' });

    runToDone(t, afterRight[0]!, 'merged');
    expect(job.status).toBe('running'); // audit is a sink too
    runToDone(t, byLabel.get('audit')!, 'ok');
    expect(job.status).toBe('done');
    expect(job.output).toEqual({ merge: 'merged', audit: 'ok' });
    expect(job.done).toBe(5);
    expect(t.counts.get('hash')).toEqual({ total: 3, done: 3, blocked: 0 });
    expect(t.counts.get('compress')).toEqual({ total: 2, done: 2, blocked: 0 });
  });

  it('ignores a duplicate completion: done is counted once and dependents are not re-released', () => {
    const t = tracker();
    const { job, ready } = submit(t, dag);
    const first = runToDone(t, ready[0]!, 'L');
    expect(first).toHaveLength(3);
    expect(t.completed(ready[0]!.id, 'L again')).toEqual([]);
    expect(job.done).toBe(1);
    expect(t.counts.get('hash')!.done).toBe(1);
    expect(t.depOutputs(first[0]!)).toEqual({ load: 'L' });
  });

  it('a failed micro-task fails the job with TaskFailedError; later results are dropped', () => {
    const t = tracker();
    const { job, ready } = submit(t, dag);
    const next = runToDone(t, ready[0]!, 'L');
    const [a, b] = next;
    expect(t.start(a!.id)).toBe(true);
    t.failed(a!.id, 3, 'disk full', 'Error: disk full\n    at run');
    expect(job.status).toBe('failed');
    expect(job.error).toBeInstanceOf(TaskFailedError);
    const error = job.error as TaskFailedError;
    expect(error.taskId).toBe(a!.label);
    expect(error.attempts).toBe(3);
    expect(error.message).toContain('disk full');
    expect(error.taskStack).toContain('at run');
    expect(t.start(b!.id)).toBe(false);
    expect(t.completed(a!.id, 'late')).toEqual([]);
    expect(job.done).toBe(1);
    // released blocked tasks are uncounted
    expect(t.counts.get('hash')!.blocked + t.counts.get('compress')!.blocked).toBe(0);
  });

  it('start returns false once the job has ended', () => {
    const t = tracker();
    const first = submit(t, { type: 'hash', input: 1 });
    const second = submit(t, {
      tasks: [
        { id: 'a', type: 'hash', input: 1 },
        { id: 'b', type: 'hash', input: 1 },
      ],
    });
    const [a, b] = second.ready;
    runToDone(t, first.ready[0]!, 'x');
    expect(t.start(first.ready[0]!.id)).toBe(false);
    t.failed(a!.id, 1, 'boom');
    expect(t.start(b!.id)).toBe(false);
    expect(second.job.status).toBe('failed');
  });
});

describe('JobTracker: split', () => {
  function startedSortJob(
    t: JobTracker,
    input: unknown = [3, 1, 2],
  ): { job: ReturnType<JobTracker['submit']>['job']; root: MicroTask } {
    const { job, ready } = submit(t, { type: 'sort', input });
    expect(t.start(ready[0]!.id)).toBe(true);
    return { job, root: ready[0]! };
  }

  it('creates children with sibling deps; a join is queued only after every child completed', () => {
    const t = tracker();
    t.hasJoin = (type) => type === 'sort';
    const { job, root } = startedSortJob(t);
    const children = t.split(root.id, [
      { input: [3, 1] },
      { input: [2] },
      { id: 'check', type: 'hash', input: null, deps: ['0', '1'] },
    ]);
    expect(labels(children)).toEqual(['root/0', 'root/1']);
    expect(children.every((child) => child.depth === 1 && child.parent === root.id)).toBe(true);
    // The splitting run of the root counts as one micro-task done.
    expect(t.counts.get('sort')).toEqual({ total: 3, done: 1, blocked: 0 });
    expect(t.counts.get('hash')).toEqual({ total: 1, done: 0, blocked: 1 });

    expect(runToDone(t, children[1]!, [2])).toEqual([]);
    const afterFirst = runToDone(t, children[0]!, [1, 3]);
    expect(labels(afterFirst)).toEqual(['root/check']);
    expect(t.depOutputs(afterFirst[0]!)).toEqual({ '0': [1, 3], '1': [2] });

    const join = runToDone(t, afterFirst[0]!, 'checked');
    expect(join).toHaveLength(1);
    expect(join[0]!.id).toBe(root.id);
    expect(join[0]!.mode).toBe(MODE_JOIN);
    expect(join[0]!.input).toEqual({ input: [3, 1, 2], outputs: [[1, 3], [2], 'checked'] });
    expect(job.status).toBe('running');
    expect(t.counts.get('sort')!.total).toBe(4); // root + 2 children + the join

    runToDone(t, join[0]!, [1, 2, 3]);
    expect(job.status).toBe('done');
    expect(job.output).toEqual([1, 2, 3]);
    expect(t.counts.get('sort')).toEqual({ total: 4, done: 4, blocked: 0 }); // progress reaches its total
  });

  it('without a join, the parent output is the children outputs in child order (not completion order)', () => {
    const t = tracker();
    const { job, root } = startedSortJob(t);
    const children = t.split(root.id, [{ input: 'a' }, { input: 'b' }, { input: 'c' }]);
    for (const child of [...children].reverse()) runToDone(t, child, `${String(child.input)}!`);
    expect(job.status).toBe('done');
    expect(job.output).toEqual(['a!', 'b!', 'c!']);
    expect(job.done).toBe(4);
  });

  it('nested splits produce nested outputs', () => {
    const t = tracker();
    const { job, root } = startedSortJob(t);
    const [left, right] = t.split(root.id, [{ input: 'L' }, { input: 'R' }]);
    expect(t.start(left!.id)).toBe(true);
    const grandchildren = t.split(left!.id, [{ input: 'L1' }, { input: 'L2' }]);
    expect(grandchildren.map((g) => [g.label, g.depth])).toEqual([
      ['root/0/0', 2],
      ['root/0/1', 2],
    ]);
    for (const g of grandchildren) runToDone(t, g, g.input);
    expect(job.status).toBe('running');
    runToDone(t, right!, 'R');
    expect(job.output).toEqual([['L1', 'L2'], 'R']);
  });

  const failures: { name: string; limits: Partial<TrackerLimits>; children: unknown; mentions: RegExp }[] = [
    {
      name: 'too many children',
      limits: { maxChildrenPerSplit: 2 },
      children: [{ input: 1 }, { input: 2 }, { input: 3 }],
      mentions: /3 children exceed the limit of 2.*fewer/,
    },
    {
      name: 'unknown child type',
      limits: {},
      children: [{ input: 1, type: 'resize' }],
      mentions: /"resize".*register the task module/,
    },
    { name: 'not an array', limits: {}, children: { input: 1 }, mentions: /array/ },
    { name: 'child without input', limits: {}, children: [{ type: 'hash' }], mentions: /\[0\].*input/ },
    {
      name: 'sibling cycle',
      limits: {},
      children: [
        { id: 'a', input: 1, deps: ['b'] },
        { id: 'b', input: 2, deps: ['a'] },
      ],
      mentions: /cycle/,
    },
    {
      name: 'split depth',
      limits: { maxSplitDepth: 0 },
      children: [{ input: 1 }],
      mentions: /depth 1 exceeds the limit of 0.*maxSplitDepth/,
    },
    {
      name: 'micro-tasks per job',
      limits: { maxMicroTasksPerJob: 3 },
      children: [{ input: 1 }, { input: 2 }, { input: 3 }],
      mentions: /more than 3 micro-tasks.*maxMicroTasksPerJob/,
    },
    {
      name: 'oversized child payload',
      limits: { maxPayloadBytes: 50 },
      children: [{ input: { blob: 'x'.repeat(100) } }],
      mentions: /\[0\]\.input.*exceeds the limit of 50/,
    },
  ];
  it.each(failures)('$name fails the job with a message naming the fix', ({ limits, children, mentions }) => {
    const t = tracker(limits);
    const { job, root } = startedSortJob(t);
    expect(t.split(root.id, children)).toEqual([]);
    expect(job.status).toBe('failed');
    expect(job.error).toBeInstanceOf(InputError);
    expect(job.error!.message).toMatch(mentions);
    expect((job.error as InputError).fix.length).toBeGreaterThan(0);
  });

  it('the depth limit applies to the split that goes too deep, not before', () => {
    const t = tracker({ maxSplitDepth: 1 });
    const { job, root } = startedSortJob(t);
    const [child] = t.split(root.id, [{ input: 1 }]);
    expect(job.status).toBe('running');
    expect(t.start(child!.id)).toBe(true);
    expect(t.split(child!.id, [{ input: 2 }])).toEqual([]);
    expect(job.status).toBe('failed');
    expect(job.error!.message).toMatch(/depth 2 exceeds the limit of 1/);
  });

  it('ignores a split of a task that is not running', () => {
    const t = tracker();
    const { ready } = submit(t, { type: 'sort', input: 1 });
    expect(t.split(ready[0]!.id, [{ input: 1 }])).toEqual([]); // never started
    expect(t.split(12345, [{ input: 1 }])).toEqual([]);
  });
});

describe("JobTracker: where each type's work leads (successorTypes)", () => {
  it("records the types that wait on a type, from the DAG and from a split's join", () => {
    const t = tracker();
    t.hasJoin = (type) => type === 'sort';
    submit(t, {
      tasks: [
        { id: 'load', type: 'hash', input: 1 },
        { id: 'pack', type: 'compress', input: 2, deps: ['load'] },
        { id: 'order', type: 'sort', input: 3, deps: ['pack', 'load'] },
      ],
    });
    const successors = () => Object.fromEntries([...t.successorTypes].map(([type, next]) => [type, [...next].sort()]));
    expect(successors()).toEqual({ hash: ['compress', 'sort'], compress: ['sort'] });
    // A split of `sort` into hash children: its join (a sort micro-task) waits on them.
    const { ready } = submit(t, { type: 'sort', input: [2, 1] });
    expect(t.start(ready[0]!.id)).toBe(true);
    t.split(ready[0]!.id, [{ input: [2] }, { type: 'hash', input: [1] }]);
    expect(successors()).toEqual({ hash: ['compress', 'sort'], compress: ['sort'], sort: ['sort'] });
  });
});

describe('JobTracker: limits at submit', () => {
  const small = { maxPayloadBytes: 64 };
  const oversized: { name: string; job: JobInput; field: string }[] = [
    { name: 'an object input', job: { type: 'hash', input: { blob: 'x'.repeat(100) } }, field: 'job.input' },
    { name: 'a string input', job: { type: 'hash', input: 'x'.repeat(100) }, field: 'job.input' },
    {
      name: 'a DAG task input',
      job: {
        tasks: [
          { id: 'a', type: 'hash', input: 1 },
          { id: 'b', type: 'hash', input: ['y'.repeat(100)] },
        ],
      },
      field: 'job.tasks[1].input',
    },
  ];
  it.each(oversized)('rejects $name over maxPayloadBytes, naming $field', ({ job, field }) => {
    const t = tracker(small);
    let caught: unknown;
    try {
      submit(t, job);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).field).toBe(field);
    expect((caught as InputError).message).toMatch(/exceeds the limit of 64/);
    expect(t.tasks.size).toBe(0);
    expect(t.jobs.size).toBe(0);
  });

  it('accepts a payload just under the limit', () => {
    const t = tracker(small);
    expect(submit(t, { type: 'hash', input: 'x'.repeat(50) }).ready).toHaveLength(1);
  });

  it('rejects a DAG with more micro-tasks than the job limit without leaving a job behind', () => {
    const t = tracker({ maxMicroTasksPerJob: 2 });
    const tasks = ['a', 'b', 'c'].map((id) => ({ id, type: 'hash', input: 1 }));
    expect(() => submit(t, { tasks })).toThrow(/more than 2 micro-tasks/);
    expect([...t.jobs.values()].filter((job) => job.status === 'running')).toEqual([]);
    expect(t.tasks.size).toBe(0);
  });
});

describe('JobTracker: maxMicroTasksPerJob across nested splits', () => {
  /** Splits every ready task of the job in two, level by level, for `levels` levels or until the job ends. */
  function splitLevels(t: JobTracker, ready: MicroTask[], levels: number): void {
    for (let level = 0; level < levels && ready.length > 0; level++) {
      const next: MicroTask[] = [];
      for (const task of ready) {
        if (!t.start(task.id)) continue;
        next.push(...t.split(task.id, [{ input: 0 }, { input: 1 }]));
      }
      ready = next;
    }
  }

  it('counts a split’s join when the split is made: splits that fit with joins that would not fail the job', () => {
    const t = tracker({ maxMicroTasksPerJob: 3 });
    t.hasJoin = () => true;
    const { job, ready } = submit(t, { type: 'sort', input: 0 });
    expect(t.start(ready[0]!.id)).toBe(true);
    expect(t.split(ready[0]!.id, [{ input: 1 }, { input: 2 }])).toEqual([]); // root, 2 children and a join: 4
    expect(job.status).toBe('failed');
    expect(job.error!.message).toMatch(/adds 3 \(children, join\): more than 3 micro-tasks/);
  });

  it('the job that crosses fails alone, names the limit and an accepted value, and leaves the tracker consistent', () => {
    const t = tracker({ maxMicroTasksPerJob: 50 });
    t.hasJoin = () => true;
    const other = submit(t, {
      tasks: [
        { id: 'a', type: 'hash', input: 1 },
        { id: 'b', type: 'hash', input: 2, deps: ['a'] },
      ],
    });
    const big = submit(t, { type: 'sort', input: 0 });
    splitLevels(t, big.ready, 10);
    expect(big.job.status).toBe('failed');
    const error = big.job.error as InputError;
    expect(error).toBeInstanceOf(InputError);
    expect(error.field).toBe('maxMicroTasksPerJob');
    expect(error.message).toMatch(/more than 50 micro-tasks.*Fix: .*maxMicroTasksPerJob: 100/);
    expect(error.fixValue).toEqual({ value: 100 });
    // Only the other job's micro-tasks are held; its blocked task is still counted as blocked, nothing else is.
    expect(t.tasks.size).toBe(2);
    expect(t.counts.get('sort')!.blocked).toBe(0);
    expect(t.counts.get('hash')!.blocked).toBe(1);
    const [a] = other.ready;
    const [b] = runToDone(t, a!, 'A');
    runToDone(t, b!, 'B');
    expect(other.job.status).toBe('done');
    expect(t.tasks.size).toBe(0);
  });

  it('a DAG over the limit is refused at submit with exactly the count it needs as the fix', () => {
    const t = tracker({ maxMicroTasksPerJob: 2 });
    const tasks = ['a', 'b', 'c'].map((id) => ({ id, type: 'hash', input: 1 }));
    let caught: unknown;
    try {
      submit(t, { tasks });
    } catch (error) {
      caught = error;
    }
    expect((caught as InputError).fixValue).toEqual({ value: 3 });
    expect(tracker({ maxMicroTasksPerJob: 3 }).submit(parseJob({ tasks })).ready).toHaveLength(3); // with the fix
  });

  it('forgets a split’s children once their parent’s join is queued: a tree holds its unfinished part', () => {
    const t = tracker();
    t.hasJoin = () => true;
    const { job, ready } = submit(t, { type: 'sort', input: 0 });
    expect(t.start(ready[0]!.id)).toBe(true);
    const children = t.split(ready[0]!.id, [{ input: 1 }, { input: 2 }]);
    expect(t.tasks.size).toBe(3);
    runToDone(t, children[0]!, 1);
    const [join] = runToDone(t, children[1]!, 2);
    expect(join!.input).toEqual({ input: 0, outputs: [1, 2] });
    expect(t.tasks.size).toBe(1);
    runToDone(t, join!, 3);
    expect(job.output).toBe(3);
  });

  it('forgets ended jobs too: a long-lived swarm holds only the jobs still running', () => {
    const t = tracker({ maxMicroTasksPerJob: 2 });
    const running = submit(t, { type: 'hash', input: 0 });
    for (let i = 0; i < 100; i++) {
      const { ready } = submit(t, { type: 'hash', input: i });
      runToDone(t, ready[0]!, i);
    }
    const failed = submit(t, { type: 'sort', input: 0 });
    expect(t.start(failed.ready[0]!.id)).toBe(true);
    t.split(failed.ready[0]!.id, [{ input: 1 }, { input: 2 }]);
    expect(failed.job.status).toBe('failed');
    expect([...t.jobs.keys()]).toEqual([running.job.id]);
  });
});

describe('JobTracker: per-job progress and cancel', () => {
  /** What the job's micro-tasks really are, walked one by one, against the counts the tracker keeps as it goes. */
  const walked = (t: JobTracker, jobId: number) => {
    const running = new Map<string, number>();
    for (const [first, count] of t.jobs.get(jobId)!.idBlocks)
      for (let id = first; id < first + count; id++) {
        const task = t.tasks.get(id);
        if (task?.status === 'running') running.set(task.taskType, (running.get(task.taskType) ?? 0) + 1);
      }
    return running;
  };
  const kept = (t: JobTracker, jobId: number) =>
    new Map([...t.jobs.get(jobId)!.byType].flatMap(([type, c]) => (c.running > 0 ? [[type, c.running]] : [])));

  it('keeps running counts per type equal to the micro-tasks running, through starts, requeues, splits and joins', () => {
    const t = tracker();
    t.hasJoin = (type) => type === 'sort';
    const { job, ready } = submit(t, {
      tasks: [
        { id: 'a', type: 'hash', input: 1 },
        { id: 'b', type: 'sort', input: 2 },
        { id: 'c', type: 'compress', input: 3, deps: ['a', 'b'] },
      ],
    });
    const [a, b] = ready;
    expect(t.start(a!.id)).toBe(true);
    expect(t.start(b!.id)).toBe(true);
    expect(kept(t, job.id)).toEqual(walked(t, job.id));
    t.requeue(a!.id);
    expect(kept(t, job.id)).toEqual(walked(t, job.id));
    const children = t.split(b!.id, [{ input: 'x' }, { input: 'y' }]);
    expect(kept(t, job.id)).toEqual(walked(t, job.id));
    for (const child of children) runToDone(t, child, child.input);
    const join = t.tasks.get(b!.id)!;
    expect(join.mode).toBe(MODE_JOIN);
    expect(t.start(join.id)).toBe(true);
    expect(kept(t, job.id)).toEqual(walked(t, job.id));
    expect(t.start(a!.id)).toBe(true);
    t.completed(join.id, 'sorted');
    const [c] = t.completed(a!.id, 'hashed');
    expect(kept(t, job.id)).toEqual(walked(t, job.id));
    expect(job.byType.get('sort')).toEqual({ total: 4, done: 4, running: 0 });
    runToDone(t, c!, 'done');
    expect(job.status).toBe('done');
    expect(job.byType.get('compress')).toEqual({ total: 1, done: 1, running: 0 });
  });

  it('cancels a running job alone: its waiting micro-tasks are handed back once, its late results ignored', () => {
    const t = tracker();
    t.collectCancelled = true;
    const ended: number[] = [];
    t.onJobEnded = (job) => void ended.push(job.id);
    const first = submit(t, { tasks: [1, 2, 3].map((i) => ({ id: `h${i}`, type: 'hash', input: i })) });
    const second = submit(t, { type: 'sort', input: 0 });
    expect(t.start(first.ready[0]!.id)).toBe(true);
    expect(t.cancel(first.job.id)).toBe(true);
    expect(t.cancel(first.job.id)).toBe(false);
    expect(first.job.status).toBe('failed');
    expect(first.job.error?.name).toBe('JobCancelledError');
    expect(t.takeCancelled().map((c) => c.id)).toEqual(first.ready.slice(1).map((task) => task.id));
    expect(t.completed(first.ready[0]!.id, 'late')).toEqual([]);
    expect(runToDone(t, second.ready[0]!, 'sorted')).toEqual([]);
    expect(second.job.status).toBe('done');
    expect(ended).toEqual([first.job.id, second.job.id]);
  });
});
