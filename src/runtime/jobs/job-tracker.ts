import { CountedSet } from '../../core/counted-set.js';
import { checkDag, unknownTaskType, type DagNode } from '../../core/dag.js';
import { InputError, JobCancelledError, TaskFailedError, invariant } from '../../core/errors.js';
import type { Job } from '../../core/job.js';
import { LIMITS, PRIORITIES } from '../../core/limits.js';
import type { SplitChild } from '../../core/task-type.js';
import { MODE_JOIN, MODE_RUN } from '../local/ipc.js';
import { MicroTask } from './micro-task.js';
import { TaskTable } from './task-table.js';

const NO_DEPS: readonly number[] = Object.freeze([]);

export interface JobRecord {
  readonly id: number;
  readonly priority: number;
  readonly owner: string;
  /** Absolute deadline on the runtime's clock (set by the orchestrator at submit). */
  deadlineAtMs: number | undefined;
  status: 'running' | 'done' | 'failed';
  output: unknown;
  error: Error | undefined;
  created: number;
  done: number;
  /** Tasks whose outputs make the job's output: the root, or the DAG's sinks. */
  readonly resultIds: number[];
  pendingResults: number;
  /** The job's micro-task ids, as [first id, count] runs (each creation allocates consecutive ids). */
  readonly idBlocks: [number, number][];
  readonly single: boolean;
  /** This job's micro-tasks per task type (created, done): its progress bars. */
  readonly byType: Map<string, { total: number; done: number; running: number }>;
}

export interface TrackerLimits {
  readonly maxSplitDepth: number;
  readonly maxChildrenPerSplit: number;
  readonly maxMicroTasksPerJob: number;
  readonly maxPayloadBytes: number;
}

/** Per task type counts for progress and the loop's snapshot. */
export interface TypeCounts {
  total: number;
  done: number;
  blocked: number;
}

/**
 * Every job's micro-task DAG: which tasks are ready, what a split adds, when joins run, and
 * what a job's output is. No I/O; the orchestrator feeds it results and enqueues what it returns.
 */
export class JobTracker {
  readonly tasks = new TaskTable();
  readonly jobs = new Map<number, JobRecord>();
  readonly counts = new Map<string, TypeCounts>();
  /**
   * Per task type, the types with micro-tasks that wait on its micro-tasks (the jobs' dependencies, and a split's join
   * on its children), as the jobs' DAGs declare them: where its work leads. Bounded by the registered types, squared.
   * Each set counts its changes: the loop's snapshot copies it only when it changed.
   */
  readonly successorTypes = new Map<string, CountedSet<string>>();
  /**
   * Keep the ready micro-tasks of jobs that fail, for the caller to cancel in its broker (takeCancelled).
   * The embedded runtime does; the cluster's job book tracks what it handed out itself.
   */
  collectCancelled = false;
  private cancelled: { id: number; taskType: string }[] = [];
  private nextTaskId = 1;

  /** The id counters: a director that trims its log stores them, so a replay of the rest allocates the same ids. */
  counters(): { readonly nextJobId: number; readonly nextTaskId: number } {
    return { nextJobId: this.nextJobId, nextTaskId: this.nextTaskId };
  }

  /** Starts counting from a stored point (before anything was submitted). */
  restoreCounters(counters: { readonly nextJobId: number; readonly nextTaskId: number }): void {
    invariant(this.jobs.size === 0, 'restoreCounters before any job');
    this.nextJobId = counters.nextJobId;
    this.nextTaskId = counters.nextTaskId;
  }
  private nextJobId = 1;

  constructor(
    private readonly knownTypes: ReadonlySet<string>,
    private readonly limits: TrackerLimits = LIMITS,
  ) {}

  /** Validates and creates a job's micro-tasks; throws InputError before creating anything. */
  submit(job: Job): { job: JobRecord; ready: MicroTask[] } {
    const nodes: (DagNode & { input?: unknown })[] =
      'tasks' in job ? job.tasks : [{ id: 'root', type: job.type, input: job.input, deps: [] }];
    const field = 'tasks' in job ? 'job.tasks' : 'job';
    const index = 'tasks' in job ? checkDag(nodes, this.knownTypes, field).index : undefined;
    if (!('tasks' in job) && !this.knownTypes.has(job.type))
      throw unknownTaskType('job.type', job.type, this.knownTypes);
    nodes.forEach((node, i) => this.checkPayload(node.input, 'tasks' in job ? `job.tasks[${i}].input` : 'job.input'));
    const record: JobRecord = {
      id: this.nextJobId++,
      priority: PRIORITIES[job.priority],
      owner: job.owner,
      deadlineAtMs: undefined,
      status: 'running',
      output: undefined,
      error: undefined,
      created: 0,
      done: 0,
      resultIds: [],
      pendingResults: 0,
      idBlocks: [],
      single: !('tasks' in job),
      byType: new Map(),
    };
    // may throw (too many micro-tasks): register the job after
    this.reserve(record, nodes.length);
    const created = this.createTasks(record, nodes, index, 0, -1, '');
    this.jobs.set(record.id, record);
    for (const task of created) {
      if (task.dependents !== undefined) continue;
      task.isResult = true;
      record.resultIds.push(task.id);
    }
    record.pendingResults = record.resultIds.length;
    return { job: record, ready: created.filter((task) => task.status === 'ready') };
  }

  /** A micro-task finished. Returns the tasks that became ready. Ignores tasks not running (duplicates). */
  completed(id: number, output: unknown): MicroTask[] {
    const task = this.tasks.get(id);
    if (!task || task.status !== 'running') return [];
    return this.finish(task, output);
  }

  /** A micro-task split itself. Returns ready children; fails the job when the split breaks a rule. */
  split(id: number, children: unknown): MicroTask[] {
    const task = this.tasks.get(id);
    if (!task || task.status !== 'running') return [];
    const job = this.jobs.get(task.jobId)!;
    try {
      const { nodes, index } = this.splitNodes(task, children);
      // Its join, if any, is counted now: a tree whose splits fit but whose joins would not fails while splitting.
      this.reserve(job, nodes.length + (this.hasJoin(task.taskType) ? 1 : 0));
      this.countRunning(task, -1);
      task.status = 'split';
      const created = this.createTasks(job, nodes, index, task.depth + 1, task.id, `${task.label}/`);
      task.children = created.map((child) => child.id);
      task.pendingChildren = created.length;
      if (this.hasJoin(task.taskType)) for (const child of created) this.leadsTo(child.taskType, task.taskType);
      // The splitting run was a micro-task of its own; a join, if any, will be another.
      this.countDone(job, task.taskType);
      return created.filter((child) => child.status === 'ready');
    } catch (error) {
      this.failJob(job, error instanceof Error ? error : new Error(String(error)));
      return [];
    }
  }

  /** Retries are exhausted: the job fails with the task's own error. */
  failed(id: number, attempts: number, message: string, stack?: string): void {
    const task = this.tasks.get(id);
    if (!task || task.status === 'done' || task.status === 'failed') return;
    if (task.status === 'running') this.countRunning(task, -1);
    task.status = 'failed';
    this.failJob(this.jobs.get(task.jobId)!, new TaskFailedError(task.taskType, task.label, attempts, message, stack));
  }

  /** Marks a ready task as handed to a swarmlet; false when its job has already ended (drop it). */
  start(id: number): boolean {
    const task = this.tasks.get(id);
    if (!task || this.jobs.get(task.jobId)!.status !== 'running') return false;
    if (task.status !== 'running') this.countRunning(task, 1);
    task.status = 'running';
    return true;
  }

  /** A running task goes back to the queue (its swarmlet died or it threw and will be retried). */
  requeue(id: number): void {
    const task = this.tasks.get(id);
    if (task?.status !== 'running') return;
    this.countRunning(task, -1);
    task.status = 'ready';
  }

  /** Outputs of a task's dependencies, by the user's labels (null when it has none). */
  depOutputs(task: MicroTask): Record<string, unknown> | null {
    if (task.deps.length === 0) return null;
    const outputs: Record<string, unknown> = {};
    for (const dep of task.deps) {
      const source = this.tasks.get(dep)!;
      defineOutput(outputs, source.label.slice(source.label.lastIndexOf('/') + 1), source.output);
    }
    return outputs;
  }

  /** `ran` is false when a split parent without join completes from its children (no run of its own). */
  private finish(task: MicroTask, output: unknown, ran = true): MicroTask[] {
    const job = this.jobs.get(task.jobId)!;
    task.status = 'done';
    task.output = output;
    if (ran) {
      this.countRunning(task, -1);
      this.countDone(job, task.taskType);
    }
    const ready: MicroTask[] = [];
    for (const dependentId of task.dependents ?? []) {
      const dependent = this.tasks.get(dependentId)!;
      if (--dependent.remainingDeps === 0) {
        dependent.status = 'ready';
        this.countsOf(dependent.taskType).blocked -= 1;
        ready.push(dependent);
      }
    }
    if (task.parent >= 0) ready.push(...this.childDone(this.tasks.get(task.parent)!));
    if (task.isResult && --job.pendingResults === 0 && job.status === 'running') this.completeJob(job);
    return ready;
  }

  /** When a split parent's last child is done: queue its join, or finish it with the children's outputs. */
  private childDone(parent: MicroTask): MicroTask[] {
    invariant(parent.status === 'split', `parent ${parent.id} of a finished child is ${parent.status}`);
    if (--parent.pendingChildren > 0) return [];
    const outputs = parent.children.map((id) => this.tasks.get(id)!.output);
    // Their outputs now travel with the parent and nothing refers to them again: a tree job holds its unfinished part,
    // not every micro-task it ran.
    for (const id of parent.children) this.tasks.delete(id);
    parent.children = [];
    if (this.hasJoin(parent.taskType)) {
      parent.input = { input: parent.input, outputs };
      parent.mode = MODE_JOIN;
      parent.status = 'ready';
      this.countCreated(this.jobs.get(parent.jobId)!, parent.taskType); // the join is one more micro-task of its type
      return [parent];
    }
    parent.status = 'running';
    return this.finish(parent, outputs, false);
  }

  /** Set by the orchestrator from the task registry. */
  hasJoin: (taskType: string) => boolean = () => false;

  /** Told once when a job ends (done or failed), so whoever waits on jobs need not scan all of them per result. */
  onJobEnded: (job: JobRecord) => void = () => undefined;

  private splitNodes(
    task: MicroTask,
    children: unknown,
  ): { nodes: (DagNode & { input: unknown })[]; index: Map<string, number> } {
    const field = `split of ${task.taskType} (micro-task ${task.label})`;
    if (!Array.isArray(children))
      throw new InputError(
        field,
        'split must return an array of { input, type?, id?, deps? }',
        'return an array, or undefined to run the task instead',
      );
    if (task.depth + 1 > this.limits.maxSplitDepth)
      throw new InputError(
        field,
        `split depth ${task.depth + 1} exceeds the limit of ${this.limits.maxSplitDepth}`,
        'stop splitting below a size threshold, or raise maxSplitDepth',
      );
    if (children.length > this.limits.maxChildrenPerSplit)
      throw new InputError(
        field,
        `${children.length} children exceed the limit of ${this.limits.maxChildrenPerSplit}`,
        'split into fewer, larger children',
      );
    const nodes = (children as SplitChild[]).map((child, i) => {
      if (typeof child !== 'object' || child === null || !('input' in child))
        throw new InputError(
          `${field}[${i}]`,
          'a child must be an object with an input',
          'return { input } (and optionally type, id, deps)',
        );
      return {
        id: child.id ?? String(i),
        type: child.type ?? task.taskType,
        input: child.input,
        deps: child.deps ?? [],
      };
    });
    const { index } = checkDag(nodes, this.knownTypes, field);
    nodes.forEach((node, i) => this.checkPayload(node.input, `${field}[${i}].input`));
    return { nodes, index };
  }

  /**
   * Creates micro-tasks with consecutive ids; `index` (id → position, from checkDag) resolves
   * dependencies, and is only absent for a single root task.
   */
  private createTasks(
    job: JobRecord,
    nodes: readonly (DagNode & { input?: unknown })[],
    index: Map<string, number> | undefined,
    depth: number,
    parent: number,
    prefix: string,
  ): MicroTask[] {
    const firstId = this.nextTaskId;
    this.nextTaskId += nodes.length;
    // Alone, a job's splits take consecutive ids: one growing run instead of one per split.
    const last = job.idBlocks[job.idBlocks.length - 1];
    if (last !== undefined && last[0] + last[1] === firstId) last[1] += nodes.length;
    else job.idBlocks.push([firstId, nodes.length]);
    const created: MicroTask[] = new Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const deps = node.deps.length === 0 || !index ? NO_DEPS : node.deps.map((dep) => firstId + index.get(dep)!);
      const task = new MicroTask(
        firstId + i,
        job.id,
        prefix + node.id,
        node.type,
        node.input,
        depth,
        deps,
        parent,
        MODE_RUN,
      );
      created[i] = task;
      this.countCreated(job, task.taskType);
      if (deps.length === 0) task.status = 'ready';
      else this.countsOf(task.taskType).blocked += 1;
    }
    for (const task of created) {
      for (const dep of task.deps) {
        const source = created[dep - firstId]!;
        (source.dependents ??= []).push(task.id);
        this.leadsTo(source.taskType, task.taskType);
      }
    }
    this.tasks.addRun(firstId, created);
    return created;
  }

  private leadsTo(fromType: string, toType: string): void {
    let successors = this.successorTypes.get(fromType);
    if (successors === undefined) this.successorTypes.set(fromType, (successors = new CountedSet()));
    successors.add(toType);
  }

  /** Counts `count` more micro-tasks for the job, or throws when they would take it past maxMicroTasksPerJob. */
  private reserve(job: JobRecord, count: number): void {
    if (job.created + count > this.limits.maxMicroTasksPerJob) throw this.tooManyMicroTasks(job, count);
    job.created += count;
  }

  /**
   * The limit, what crossed it and an accepted value to raise it to. A split's final count is unknown when it crosses
   * (more splits may follow), so the suggestion at least doubles the limit rather than claim to be enough.
   */
  private tooManyMicroTasks(job: JobRecord, adding: number): InputError {
    const limit = this.limits.maxMicroTasksPerJob;
    const needed = job.created + adding;
    const suggested = Math.min(Number.MAX_SAFE_INTEGER, job.created === 0 ? needed : Math.max(needed, 2 * limit));
    const adds = job.created === 0 ? `has ${adding}` : `had ${job.created} and a split adds ${adding} (children, join)`;
    return new InputError(
      'maxMicroTasksPerJob',
      `the job ${adds}: more than ${limit} micro-tasks, the limit per job`,
      `split into fewer, larger micro-tasks, or raise the limit: maxMicroTasksPerJob: ${suggested}` +
        (job.created === 0 ? '' : ' (a recursive split may need more)'),
      { value: suggested },
    );
  }

  private checkPayload(input: unknown, field: string): void {
    if (input === undefined || input === null || (typeof input !== 'object' && typeof input !== 'string')) return;
    const bytes = JSON.stringify(input)?.length ?? 0;
    if (bytes > this.limits.maxPayloadBytes) {
      throw new InputError(
        field,
        `payload of ${bytes} bytes exceeds the limit of ${this.limits.maxPayloadBytes}`,
        'pass a file path or a reference instead of the data, or raise maxPayloadBytes',
        { value: 'path/to/the/data' },
      );
    }
  }

  private completeJob(job: JobRecord): void {
    job.status = 'done';
    if (job.single) job.output = this.tasks.get(job.resultIds[0]!)!.output;
    else {
      const output: Record<string, unknown> = {};
      for (const id of job.resultIds) {
        const task = this.tasks.get(id)!;
        defineOutput(output, task.label, task.output);
      }
      job.output = output;
    }
    this.release(job);
    this.onJobEnded(job);
  }

  private failJob(job: JobRecord, error: Error): void {
    if (job.status !== 'running') return;
    job.status = 'failed';
    job.error = error;
    this.release(job);
    this.onJobEnded(job);
  }

  /** Ends a running job with `error` (a fault charged to it alone); its micro-tasks are dropped as they come up. */
  abort(jobId: number, error: Error): void {
    const job = this.jobs.get(jobId);
    if (job) this.failJob(job, error);
  }

  /** Cancels a running job: it fails with JobCancelledError, its waiting micro-tasks are dropped; false if it ended. */
  cancel(jobId: number): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'running') return false;
    this.failJob(job, new JobCancelledError(jobId));
    return true;
  }

  /** Micro-tasks of failed jobs still waiting in the broker, once each: the caller removes them there. */
  takeCancelled(): { id: number; taskType: string }[] {
    const cancelled = this.cancelled;
    this.cancelled = [];
    return cancelled;
  }

  /**
   * Forget an ended job and its micro-tasks so a long-lived swarm does not grow without bound (whoever waits on the job
   * holds its record).
   */
  private release(job: JobRecord): void {
    this.jobs.delete(job.id);
    for (const [firstId, count] of job.idBlocks) {
      for (let id = firstId; id < firstId + count; id++) {
        const task = this.tasks.get(id);
        if (this.collectCancelled && task?.status === 'ready' && job.status === 'failed')
          this.cancelled.push({ id, taskType: task.taskType });
        if (task?.status === 'blocked') this.countsOf(task.taskType).blocked -= 1;
        this.tasks.delete(id);
      }
    }
  }

  private countCreated(job: JobRecord, taskType: string): void {
    this.countsOf(taskType).total += 1;
    const mine = job.byType.get(taskType);
    if (mine) mine.total += 1;
    else job.byType.set(taskType, { total: 1, done: 0, running: 0 });
  }

  /** Keeps the job's running count per type (its progress bars) as a micro-task enters or leaves `running`. */
  private countRunning(task: MicroTask, delta: number): void {
    const counts = this.jobs.get(task.jobId)?.byType.get(task.taskType);
    if (counts) counts.running += delta;
  }

  private countDone(job: JobRecord, taskType: string): void {
    job.done += 1;
    this.countsOf(taskType).done += 1;
    job.byType.get(taskType)!.done += 1;
  }

  private countsOf(taskType: string): TypeCounts {
    let counts = this.counts.get(taskType);
    if (!counts) {
      counts = { total: 0, done: 0, blocked: 0 };
      this.counts.set(taskType, counts);
    }
    return counts;
  }
}

/** An own data property for any id: assigning `__proto__` would set the prototype and lose the output. */
function defineOutput(outputs: Record<string, unknown>, id: string, output: unknown): void {
  Object.defineProperty(outputs, id, { value: output, enumerable: true, writable: true, configurable: true });
}
