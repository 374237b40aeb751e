import { JobCancelledError } from '../../core/errors.js';
import { parseJob, type Job } from '../../core/job.js';
import { MODE_JOIN, RESULT_OK, RESULT_SPLIT } from '../local/wire.js';
import type { BrokerTask } from '../brokers/broker.js';
import { JobTracker, type TrackerLimits } from '../jobs/job-tracker.js';
import type { MicroTask } from '../jobs/micro-task.js';
import { TypeStats } from '../type-stats.js';
import { phaseOf, UsageTracker } from '../usage-tracker.js';
import type { ResourceHints } from '../../predict/usage-model.js';
import { refusedEverywhereMessage } from './bundle-refusals.js';
import type { ClusterResult, JobOutcome, LogEntry, ModuleRecord, TaskPayload } from './protocol.js';
import { EndedJobs, jobLabel, runningView, type BookedJob, type BookJobView } from './job-book-views.js';

/** Faults kept per job for its client; later ones are counted. */
export const MAX_JOB_FAULTS = 20;

/** A job that ended, and (if it failed) its micro-tasks still in the broker, to cancel. */
export interface FinishedJob {
  readonly jobKey: string;
  readonly outcome: JobOutcome;
  readonly cancel: readonly { readonly id: number; readonly taskType: string }[];
}

/** One running job's progress per task type. */
export interface JobProgress {
  readonly jobKey: string;
  readonly taskTypes: readonly { readonly taskType: string; readonly done: number; readonly total: number }[];
  readonly faults: readonly string[];
}

/**
 * The director's jobs, rebuilt from the log alone: applying the same entries in the same order
 * gives the same micro-task ids, so a restarted director that replays `P:log` continues where the
 * last one stopped. No Redis here: entries in, micro-tasks to enqueue and finished jobs out.
 */
export class JobBook {
  private readonly knownTypes = new Set<string>();
  private readonly joins = new Set<string>();
  readonly tracker: JobTracker;
  readonly stats = new Map<string, TypeStats>();
  /** Each type's declared hints, the latest module record's. */
  private readonly hints = new Map<string, ResourceHints>();
  /**
   * The usage model, fed by every result in the log (so a replay rebuilds it): the one duration estimate the
   * director's policy, admission gate, lease batches and queue costs read, as in the embedded runtime.
   */
  readonly usage = new UsageTracker(this.hints);
  private readonly jobs = new Map<number, BookedJob>();
  /**
   * Keys of running jobs: a key appended again while its job runs is the same run (a client that
   * retried its XADD). A key appended again after its job ended runs again: clients append only
   * when the outcome key holds no outcome (deleted, garbled, expired), and ignoring the entry would
   * leave that client waiting for nothing. Decided by log order alone, so a replay decides the same.
   */
  private readonly runningKeys = new Set<string>();
  private readonly refused: { jobKey: string; outcome: JobOutcome }[] = [];
  /** Results for micro-tasks already recorded (a re-run after a failover), over all jobs. */
  duplicateResults = 0;
  /** Recently ended jobs as the API lists them (bounded; rebuilt by a replay as far as the log reaches). */
  readonly ended = new EndedJobs();

  constructor(
    limits: TrackerLimits,
    private readonly maxAttempts: number,
  ) {
    this.tracker = new JobTracker(this.knownTypes, limits);
    this.tracker.hasJoin = (type) => this.joins.has(type);
  }

  /** A task type's module became known (the client registered it before logging the job). */
  addTaskType(
    module: Pick<ModuleRecord, 'taskType' | 'hasJoin' | 'hintDurationMs'> &
      Partial<Pick<ModuleRecord, 'hintCpu' | 'hintMemoryMb'>>,
  ): void {
    this.knownTypes.add(module.taskType);
    if (module.hasJoin) this.joins.add(module.taskType);
    this.hints.set(module.taskType, {
      durationMs: module.hintDurationMs,
      cpu: module.hintCpu,
      memoryMb: module.hintMemoryMb,
    });
    if (!this.stats.has(module.taskType))
      this.stats.set(module.taskType, new TypeStats(module.taskType, module.hintDurationMs));
  }

  /**
   * Applies one log entry; `nowMs` is the entry's own time (its stream id), so a replay computes the
   * same wall times. Returns the micro-tasks that became ready (to enqueue) and the jobs it
   * finished. A job the tracker refuses (bad DAG, unknown type) finishes at once as failed.
   */
  apply(entry: LogEntry, nowMs: number): { ready: MicroTask[]; finished: FinishedJob[] } {
    if (entry.kind === 'unrunnable') this.refuseBundle(entry);
    if (entry.kind === 'fault') this.fault(entry);
    if (entry.kind === 'cancel') this.cancel(entry);
    const ready =
      entry.kind === 'job'
        ? this.submit(entry.jobKey, entry.job, entry.modules, nowMs)
        : entry.kind === 'results'
          ? entry.results.flatMap((result) => this.result(result))
          : [];
    return { ready, finished: this.collectFinished(nowMs) };
  }

  /**
   * Every live agent refused a type's bundle: every running job submitted with that type fails now, naming the type,
   * each node and its reason (waiting would be a silent hang: no agent will run it). One agent's refusal alone only
   * moves the type elsewhere (the director's BundleRefusals).
   */
  private refuseBundle(verdict: Extract<LogEntry, { kind: 'unrunnable' }>): void {
    const error = new Error(refusedEverywhereMessage(verdict.taskType, verdict.hash, verdict.refusals));
    for (const [id, booked] of this.jobs) if (booked.taskTypes.has(verdict.taskType)) this.tracker.abort(id, error);
  }

  /**
   * A swarmlet exited with micro-tasks in flight that went back to the queue: each one's job keeps why, for its client
   * (its progress, and its outcome however it ends).
   */
  private fault(fault: Extract<LogEntry, { kind: 'fault' }>): void {
    for (const id of fault.ids) {
      const task = this.tracker.tasks.get(id);
      const booked = task && this.jobs.get(task.jobId);
      if (!booked) continue;
      if (booked.faults.length >= MAX_JOB_FAULTS) booked.faultsLeftOut += 1;
      else booked.faults.push(`micro-task ${id} (${fault.taskType}) on ${fault.nodeId}: ${fault.reason}; retried`);
    }
  }

  /**
   * A job cancelled: it ends as `cancelled` (collected with the others that ended), its micro-tasks handed out and not
   * reported are cancelled in the broker, and results of those already running are ignored as duplicates (the tracker
   * forgot them). A key not running (ended, unknown) is left alone: a cancel races the job's end, and the end stands.
   */
  private cancel(entry: Extract<LogEntry, { kind: 'cancel' }>): void {
    for (const [id, booked] of this.jobs) if (booked.jobKey === entry.jobKey) this.tracker.cancel(id);
    this.cancelReasons.set(entry.jobKey, entry.reason);
  }

  private readonly cancelReasons = new Map<string, string>();

  /** Running jobs then recently ended ones, newest first, for the API (`nowMs`: the director's clock). */
  views(nowMs: number): BookJobView[] {
    const running = [...this.jobs.values()].map((booked) => runningView(booked, nowMs));
    return [...running.reverse(), ...this.ended.views()];
  }

  /** The task types running jobs were submitted with. */
  runningTaskTypes(): Set<string> {
    const types = new Set<string>();
    for (const booked of this.jobs.values()) for (const taskType of booked.taskTypes) types.add(taskType);
    return types;
  }

  /**
   * Fails a job before it reaches the tracker (no id allocated: a replay that refuses it again numbers
   * everything the same), e.g. when a module record it needs is unreadable. Undefined for a key whose job runs.
   */
  refuse(jobKey: string, error: string): FinishedJob | undefined {
    if (this.runningKeys.has(jobKey)) return undefined;
    return { jobKey, outcome: { status: 'failed', error, wallMs: 0, microTasks: 0, duplicateResults: 0 }, cancel: [] };
  }

  /** A job with this key runs (a submit of the key now is the same run). */
  running(jobKey: string): boolean {
    return this.runningKeys.has(jobKey);
  }

  /** Each running job's own progress per task type. */
  progress(): JobProgress[] {
    return [...this.jobs.values()].map((booked) => ({
      jobKey: booked.jobKey,
      taskTypes: [...booked.byType].map(([taskType, counts]) => ({ taskType, ...counts })),
      faults: faultsOf(booked),
    }));
  }

  /** Micro-tasks of running jobs not done yet, per type: the accepted work admission weighs (blocked ones included). */
  outstandingByType(): Map<string, number> {
    const outstanding = new Map<string, number>();
    for (const { byType } of this.jobs.values()) {
      for (const [taskType, { done, total }] of byType)
        outstanding.set(taskType, (outstanding.get(taskType) ?? 0) + total - done);
    }
    return outstanding;
  }

  /**
   * Micro-tasks handed to the broker and not yet reported: after a replay, these are enqueued again (idempotent by id).
   */
  outstanding(): MicroTask[] {
    const tasks: MicroTask[] = [];
    for (const { record } of this.jobs.values()) {
      for (const [first, count] of record.idBlocks) {
        for (let id = first; id < first + count; id++) {
          const task = this.tracker.tasks.get(id);
          if (task?.status === 'running') tasks.push(task);
        }
      }
    }
    return tasks;
  }

  /** The broker's view of a micro-task the director hands out (marks it running: handed over). */
  toBrokerTask(task: MicroTask): BrokerTask {
    const job = this.tracker.jobs.get(task.jobId)!;
    if (task.status === 'ready') this.tracker.start(task.id);
    const booked = this.jobs.get(task.jobId);
    if (booked && !booked.handed.has(task.id)) {
      booked.handed.set(task.id, task.taskType);
      booked.handedByType.set(task.taskType, (booked.handedByType.get(task.taskType) ?? 0) + 1);
    }
    const payload: TaskPayload = {
      mode: task.mode,
      input: task.input,
      depth: task.depth,
      deps: this.tracker.depOutputs(task),
      label: task.label,
      ...(booked !== undefined && { jobKey: booked.jobKey }),
    };
    return {
      id: task.id,
      taskType: task.taskType,
      priority: job.priority,
      attempt: 1,
      maxAttempts: this.maxAttempts,
      payload,
      owner: job.owner,
      costMs: this.usage.predictedDurationMs(task.taskType) ?? 0,
    };
  }

  private submit(jobKey: string, raw: unknown, taskTypes: readonly string[], nowMs: number): MicroTask[] {
    if (this.runningKeys.has(jobKey)) return []; // a client retried its XADD
    let submitted: ReturnType<JobTracker['submit']>;
    let job: Job;
    try {
      job = parseJob(raw);
      submitted = this.tracker.submit(job);
    } catch (error) {
      // Refused before it ran (bad DAG, unknown type): it ends at once, with the reason.
      this.refused.push({
        jobKey,
        outcome: {
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
          wallMs: 0,
          microTasks: 0,
          duplicateResults: 0,
        },
      });
      return [];
    }
    const booked: BookedJob = {
      jobKey,
      record: submitted.job,
      label: jobLabel(job, jobKey),
      name: job.name,
      priority: job.priority,
      deadlineMs: job.deadlineMs,
      submittedAtMs: nowMs,
      microTasks: 0,
      duplicateResults: 0,
      byType: new Map(),
      countedBlock: 0,
      countedInBlock: 0,
      handed: new Map(),
      handedByType: new Map(),
      taskTypes: new Set(taskTypes),
      faults: [],
      faultsLeftOut: 0,
    };
    this.jobs.set(submitted.job.id, booked);
    this.runningKeys.add(jobKey);
    this.countCreated(booked);
    return submitted.ready;
  }

  private result(result: ClusterResult): MicroTask[] {
    const task = this.tracker.tasks.get(result.id);
    if (!task || task.status !== 'running') {
      this.duplicateResults += 1;
      const booked = task && this.jobs.get(task.jobId);
      if (booked) booked.duplicateResults += 1;
      return [];
    }
    const booked = this.jobs.get(task.jobId);
    if (booked) {
      if (booked.handed.delete(task.id))
        booked.handedByType.set(task.taskType, booked.handedByType.get(task.taskType)! - 1);
      booked.microTasks += 1;
      const counts = booked.byType.get(task.taskType);
      if (counts) counts.done += 1;
    }
    this.stats.get(task.taskType)?.completed(result.durationUs / 1000);
    // A dead result is no measurement of the type: 0 when its swarmlet died or its node left (it never ran to an end),
    // else one failed attempt; learning a node's lost micro-tasks as runs of 0 ms would take the type for a tiny one.
    if (result.status !== 'dead') {
      const status = result.status === 'split' ? RESULT_SPLIT : RESULT_OK;
      this.usage.completedDuration(task.taskType, result.durationUs / 1000, phaseOf(task.mode, status));
    }
    if (result.status === 'ok' || result.status === 'split') {
      const ready =
        result.status === 'ok'
          ? this.tracker.completed(task.id, result.value)
          : this.tracker.split(task.id, result.value);
      if (booked) {
        this.countCreated(booked); // a split's children are new ids
        // A join reuses its split parent's id: one more micro-task of that type, with no new id.
        for (const next of ready) if (next.mode === MODE_JOIN) booked.byType.get(next.taskType)!.total += 1;
      }
      return ready;
    }
    const failure = (result.value ?? {}) as { message?: string; stack?: string };
    this.tracker.failed(task.id, result.attempt, failure.message ?? 'failed', failure.stack);
    return [];
  }

  /** Counts the job's micro-tasks created since the last count, by type (O(1) when nothing is new). */
  private countCreated(booked: BookedJob): void {
    const blocks = booked.record.idBlocks;
    for (; booked.countedBlock < blocks.length; booked.countedBlock++, booked.countedInBlock = 0) {
      const [first, count] = blocks[booked.countedBlock]!;
      for (; booked.countedInBlock < count; booked.countedInBlock++) {
        const taskType = this.tracker.tasks.get(first + booked.countedInBlock)?.taskType;
        if (taskType === undefined) continue;
        const counts = booked.byType.get(taskType) ?? { done: 0, total: 0 };
        counts.total += 1;
        booked.byType.set(taskType, counts);
      }
      if (booked.countedBlock === blocks.length - 1) return; // the last block may still grow: stay on it
    }
  }

  private collectFinished(nowMs: number): FinishedJob[] {
    const finished: FinishedJob[] = this.refused.splice(0).map((refused) => ({ ...refused, cancel: [] }));
    for (const [id, booked] of this.jobs) {
      const { record } = booked;
      if (record.status === 'running') continue;
      this.jobs.delete(id);
      this.runningKeys.delete(booked.jobKey);
      const cancelled = record.error instanceof JobCancelledError;
      const reason = this.cancelReasons.get(booked.jobKey);
      this.cancelReasons.delete(booked.jobKey);
      const outcome: JobOutcome = {
        status: cancelled ? 'cancelled' : record.status,
        ...(record.status === 'done'
          ? { output: record.output }
          : { error: cancelled ? `cancelled: ${reason ?? 'by request'}` : (record.error?.message ?? 'failed') }),
        wallMs: nowMs - booked.submittedAtMs,
        microTasks: booked.microTasks,
        duplicateResults: booked.duplicateResults,
        ...(booked.faults.length > 0 && { faults: faultsOf(booked) }),
      };
      this.ended.add(booked, outcome, nowMs);
      finished.push({
        jobKey: booked.jobKey,
        outcome,
        cancel: [...booked.handed].map(([id, taskType]) => ({ id, taskType })),
      });
    }
    this.cancelReasons.clear(); // a reason for a key that was not running is not kept for a later run of the key
    return finished;
  }
}

function faultsOf(booked: BookedJob): string[] {
  return booked.faultsLeftOut === 0 ? [...booked.faults] : [...booked.faults, `… and ${booked.faultsLeftOut} more`];
}
