import type { Action } from '../core/actions.js';
import type { Environment } from '../core/environment.js';
import { AdmissionError, SwarmletBugError, TaskModuleError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { Policy } from '../decide/policy.js';
import type { PoolLimits, Snapshot, SwarmletView, TaskTypeLoad } from '../decide/snapshot.js';
import { initialLoopState, step, type LoopState } from '../decide/step.js';
import type { Broker } from './brokers/broker.js';
import { JobTracker, type JobRecord, type TrackerLimits } from './jobs/job-tracker.js';
import { RESULT_ERROR, RESULT_OK, type MonitorSample, type WireResult } from './local/ipc.js';
import type { TaskTypeInfo } from './local/task-compiler.js';
import type { Provider, ProviderEvents } from './provider.js';
import { jobKey, type JobHistory } from './job-history.js';
import type { ActionRecord, FaultRecord, RunSummary } from './run-report.js';
import { progressView, runSummary, type ProgressView, type ReportSources } from './run-reporter.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import { TypeStats } from './type-stats.js';
import { UsageTracker, phaseOf } from './usage-tracker.js';
import { SwarmletPool } from './swarmlet-pool.js';
import type { SavedState } from './task-state.js';
import { Dispatcher } from './dispatcher.js';
import { NodeReservations } from './node-reservations.js';
import {
  admitJob,
  culpritOf,
  enforceHardLimits,
  isolateRunaway,
  watchRunaways,
  type HardLimits,
} from './hard-limits.js';
import { JobOutcomes } from './job-outcomes.js';
import { jobDetail, jobEnd, jobViews, type JobView } from './job-views.js';
import { isLoading, LoadWatch } from './load-watch.js';
import { jobsNeeding, jobsOf, refuseUnserved } from './jobs/job-blame.js';
import type { AdmissionLimits } from '../schedule/admission.js';
import { TaskLogBook, type TaskLogLine, type TaskLogQuery } from './task-log-book.js';

export interface OrchestratorOptions {
  readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>;
  readonly broker: Broker;
  readonly policy: Policy;
  readonly limits: PoolLimits;
  readonly trackerLimits: TrackerLimits;
  readonly maxAttempts: number;
  readonly tickMs: number;
  /** Where time and timers come from: the wall clock, or the simulator's virtual one. */
  readonly environment: Environment;
  readonly provider: (events: ProviderEvents) => Provider;
  /** Earlier runs' job profiles, and where finished runs are recorded. */
  readonly history: JobHistory;
  /** Hard limits: a micro-task running longer, or a swarmlet holding more memory, is stopped. */
  readonly hardLimits: HardLimits;
  /** Admission control by priority class on the predicted backlog; undefined: admit everything. */
  readonly admission: AdmissionLimits | undefined;
  /** Cores of this machine: the reservation pool's CPU. */
  readonly cores: number;
  /** A swarmlet that has not loaded its type's module (import and warmup) within this is stopped. */
  readonly loadTimeoutMs: number;
  /** Why the policy will never run a type (a fixed split that gives it 0); undefined: it may. */
  readonly unserved?: (taskType: string) => Error | undefined;
}

export type { ProgressView } from './run-reporter.js';

/** Bounds on what a long-lived swarm remembers for its summary. */
const HISTORY_LIMIT = 256;
const ACTION_LOG_LIMIT = 10_000;
/** How the swarmlet host words a `restore` that threw (swarmlet-host.ts). */
const RESTORE_FAILED = 'restore(state) failed';
/** Consecutive control-loop ticks that throw before every pending job is failed (a loop that cannot act). */
const FAILED_TICKS_LIMIT = 20;

interface PendingJob {
  readonly record: JobRecord;
  readonly label: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

/**
 * The runtime's composition of the loop: the only timer (observe → step → act) plus the
 * event-driven path a micro-task travels (broker → provider → swarmlet → result back).
 * All state changes run one at a time through `serial`, so async broker calls never interleave.
 */
export class Orchestrator implements ProviderEvents {
  private readonly tracker: JobTracker;
  private readonly provider: Provider;
  private readonly swarmlets = new Map<string, SwarmletRecord>();
  private readonly stats = new Map<string, TypeStats>();
  private readonly pending = new Map<number, PendingJob>();
  /** Jobs the tracker ended since the last settleJobs (scanning every pending job per result was quadratic). */
  private endedJobs: number[] = [];
  private readonly actionLog: ActionRecord[] = [];
  private actionsLogged = 0;
  /** Actions taken since the start, per kind (the log keeps only the last ones). */
  private readonly actionCounts = new Map<string, number>();
  /** Stopped swarmlets, kept (bounded) for the summary only: the live map stays small in a long-lived swarm. */
  private readonly stopped: SwarmletRecord[] = [];
  private readonly faults: FaultRecord[] = [];
  private readonly usage: UsageTracker;
  private readonly reservations: NodeReservations;
  private readonly pool: SwarmletPool;
  private readonly dispatcher: Dispatcher;
  private readonly outcomes = new JobOutcomes();
  private loopState: LoopState;
  private serial: Promise<void> = Promise.resolve();
  private cancelTicks: (() => void) | undefined;
  private startedAtMs = 0;
  private lastProgress: ProgressView | undefined;
  private failedTicksInRow = 0;
  private readonly loads: LoadWatch;
  /** Per task type, observe's counts over the pool (kept between ticks: observe runs every tick). */
  private readonly tallies = new Map<string, { inFlight: number; runningForMs: number; serving: number }>();
  /** Swarmlets serving each type at this tick (not stopped or draining), from the tallies. */
  private readonly servingNow = { get: (taskType: string) => this.tallies.get(taskType)?.serving };
  /** The hard limits' and runaway watch's callbacks, made once (they run every tick). */
  private readonly taskOf = (id: number) => this.tracker.tasks.get(id);
  private readonly labelOf = (id: number) => this.tracker.tasks.get(id)?.label;
  private readonly runningOnSwarmlet = (swarmlet: SwarmletRecord) => this.runningOn(swarmlet);
  private readonly kill = (swarmletId: string, reason: string): void => this.provider.kill(swarmletId, reason);
  progressListener: ((view: ProgressView) => void) | undefined;
  /** What tasks printed, bounded (task-log-book.ts); the provider still prints it as before. */
  private readonly printedLines = new TaskLogBook();

  private get clock() {
    return this.options.environment.clock;
  }

  constructor(private readonly options: OrchestratorOptions) {
    this.tracker = new JobTracker(new Set(options.taskTypes.keys()), options.trackerLimits);
    this.tracker.hasJoin = (type) => options.taskTypes.get(type)?.hasJoin ?? false;
    this.tracker.collectCancelled = true;
    this.tracker.onJobEnded = (job) => void this.endedJobs.push(job.id);
    for (const info of options.taskTypes.values())
      this.stats.set(info.name, new TypeStats(info.name, info.hintDurationMs));
    const infos = [...options.taskTypes.values()];
    this.usage = new UsageTracker(
      new Map(
        infos.map((info) => [
          info.name,
          { durationMs: info.hintDurationMs, cpu: info.hintCpu, memoryMb: info.hintMemoryMb },
        ]),
      ),
      new Map(infos.flatMap((info) => (info.sizeOf ? [[info.name, info.sizeOf] as const] : []))),
    );
    this.provider = options.provider(this);
    this.reservations = new NodeReservations(
      {
        cores: options.cores,
        memoryMb: options.limits.maxMemoryMb,
        swarmletLimitMb: options.hardLimits.swarmletMemoryLimitMb,
        defaultSwarmletMb: options.limits.swarmletMemoryMb,
      },
      this.usage,
    );
    this.dispatcher = new Dispatcher(
      this.tracker,
      options.broker,
      this.provider,
      this.swarmlets,
      this.stats,
      this.usage,
      options.history,
      options.environment.clock,
      options.maxAttempts,
      this.reservations,
    );
    const fault = (swarmletId: string, atMs: number, detail: string) =>
      void this.faults.push({ atMs: atMs - this.startedAtMs, swarmletId, detail, requeued: 0 });
    this.pool = new SwarmletPool(
      this.swarmlets,
      this.provider,
      options.taskTypes,
      this.stats,
      this.dispatcher.queued,
      fault,
      options.environment.timers,
    );
    this.loopState = initialLoopState(options.policy);
    this.loads = new LoadWatch(options.maxAttempts, options.loadTimeoutMs);
  }

  start(): void {
    this.startedAtMs = this.clock.nowMs();
    this.cancelTicks = this.options.environment.timers.every(this.options.tickMs, () => {
      // Checked when the timer fires, not behind the serial chain: a chain busy with a big job's results must not let
      // a runaway run on past its time limit (the check is synchronous and skips swarmlets mid-exit).
      this.enforceTimeLimits();
      this.run(() => this.tick());
    });
  }

  async stop(): Promise<void> {
    this.cancelTicks?.();
    this.cancelTicks = undefined;
    await this.serial;
    await this.pool.saveAll(this.clock.nowMs()); // stateful types hand their state over (bounded)
    await this.serial;
    await this.provider.stopAll();
    await this.options.history.flush();
    for (const job of this.pending.values()) job.reject(new Error('swarm stopped before the job finished'));
    this.pending.clear();
  }

  /** Accepts a validated job; the promise settles with its output or its failure. Throws InputError on a bad DAG. */
  submit(job: Job): Promise<unknown> {
    return this.accept(job).done;
  }

  /** `submit`, also giving the job's id (to follow or cancel it). */
  accept(job: Job): { jobId: number; done: Promise<unknown> } {
    this.admitOrThrow(job);
    const { job: record, ready } = this.tracker.submit(job);
    const nowMs = this.clock.nowMs();
    if (job.deadlineMs !== undefined) record.deadlineAtMs = nowMs + job.deadlineMs;
    this.outcomes.started(record.id, job, nowMs);
    const label = job.name ?? ('tasks' in job ? [...new Set(job.tasks.map((t) => t.type))].join(',') : job.type);
    const result = new Promise<unknown>((resolve, reject) =>
      this.pending.set(record.id, { record, label, resolve, reject }),
    );
    this.run(
      async () => {
        // Running (for the history's pre-warm) only with its micro-tasks queued: a tick between the two took its own
        // type for demand to come and preloaded it into every other swarmlet (found replaying one-task jobs).
        this.options.history.started(record.id, jobKey(job), nowMs);
        await this.dispatcher.enqueue(ready.map((task) => task.id));
        // A type nobody serves yet gets the loop's attention at once instead of at the next tick.
        const served = new Set(
          [...this.swarmlets.values()].filter((s) => s.state !== 'stopped').map((s) => s.taskType),
        );
        if (ready.some((task) => !served.has(task.taskType))) await this.tick();
        else await this.dispatcher.pump();
      },
      () => [record.id],
    );
    return { jobId: record.id, done: result };
  }

  /**
   * Runs `work` after everything queued before it. A throw there is a Swarmlet bug: it fails only
   * the jobs `blame` names (the ones the work was for), is kept as a fault, and the swarm goes on.
   */
  /**
   * Resolves once the work queued so far, and any it queued in turn, is done: a virtual clock advances only then, as
   * time stands still for a fast machine's loop.
   */
  async settled(): Promise<void> {
    for (let serial = this.serial; ; serial = this.serial) {
      await serial;
      if (serial === this.serial) return;
    }
  }

  private run(work: () => Promise<void> | void, blame: () => Iterable<number> = () => []): void {
    this.serial = this.serial.then(work).catch((error: unknown) => this.internalFault(error, blame));
  }

  private internalFault(error: unknown, blame: () => Iterable<number>): void {
    const message = error instanceof Error ? error.message : String(error);
    const jobIds = [...new Set(blame())].filter((id) => this.pending.has(id));
    this.faults.push({
      atMs: this.clock.nowMs() - this.startedAtMs,
      swarmletId: '-',
      detail: `internal error${jobIds.length > 0 ? ` in job ${jobIds.join(', ')}` : ''}: ${message}`,
      requeued: 0,
    });
    for (const jobId of jobIds) this.tracker.abort(jobId, new SwarmletBugError(jobId, error));
    if (jobIds.length === 0 && ++this.failedTicksInRow >= FAILED_TICKS_LIMIT) {
      // The loop itself keeps failing: no job can progress, so none is left waiting for ever.
      for (const [jobId] of this.pending) this.tracker.abort(jobId, new SwarmletBugError(jobId, error));
    }
    this.settleJobs();
  }

  /**
   * The micro-task a swarmlet is running: its black box's word where the provider keeps one (results
   * come back in batches, so the oldest in flight may be done already), else the oldest in flight.
   */
  private runningOn(swarmlet: SwarmletRecord): number | undefined {
    const recorded = this.provider.lastStarted?.(swarmlet.id);
    if (recorded === null) return undefined;
    if (recorded !== undefined) return swarmlet.inFlight.has(recorded) ? recorded : undefined;
    return swarmlet.inFlight.values().next().value as number | undefined;
  }

  // ── observe → step → act ────────────────────────────────────────────────

  private enforceTimeLimits(): void {
    enforceHardLimits(
      this.swarmlets.values(),
      this.options.hardLimits,
      this.clock.nowMs(),
      this.kill,
      this.runningOnSwarmlet,
      this.labelOf,
    );
  }

  private async tick(): Promise<void> {
    const runaways = this.watchRunaways(this.clock.nowMs());
    if (runaways.length > 0) await this.requeueRunaways(runaways);
    for (const late of this.loads.overdue(this.swarmlets.values(), this.clock.nowMs())) {
      late.limitCulprit = -1; // no micro-task runs while it loads: nobody pays
      const reason = `did not finish loading ${late.taskType} within ${this.loads.timeoutMs} ms (its import or warmup hangs)`;
      this.provider.kill(late.id, `was stopped: it ${reason}`);
    }
    this.pool.expireSnapshots(this.clock.nowMs());
    this.reservations.renew(this.swarmlets.values(), this.clock.nowMs());
    const snapshot = await this.observe();
    const { state, decision } = step(this.options.policy, this.loopState, snapshot);
    this.loopState = state;
    for (const action of decision.actions) this.act(action, snapshot.nowMs);
    this.publishProgress(snapshot.nowMs);
    await this.dispatcher.pump();
    this.failedTicksInRow = 0;
  }

  private async observe(): Promise<Snapshot> {
    const nowMs = this.clock.nowMs();
    const depths = await this.options.broker.depths();
    this.dispatcher.resync(depths);
    // One pass over the pool (observe runs every tick): close each window, tally its type, and take its view.
    for (const tally of this.tallies.values()) {
      tally.inFlight = 0;
      tally.runningForMs = 0;
      tally.serving = 0;
    }
    const swarmlets: SwarmletView[] = [];
    for (const swarmlet of this.swarmlets.values()) {
      swarmlet.closeWindow(nowMs);
      let tally = this.tallies.get(swarmlet.taskType);
      if (!tally) this.tallies.set(swarmlet.taskType, (tally = { inFlight: 0, runningForMs: 0, serving: 0 }));
      tally.inFlight += swarmlet.inFlight.size;
      // Its oldest micro-task started at its last progress (a swarmlet runs its queue in order).
      if (swarmlet.inFlight.size > 0) tally.runningForMs = Math.max(tally.runningForMs, nowMs - swarmlet.progressAtMs);
      if (swarmlet.state !== 'stopped' && swarmlet.state !== 'draining') tally.serving += 1;
      swarmlets.push(swarmlet.view(nowMs));
    }
    const load: TaskTypeLoad[] = [];
    for (const stats of this.stats.values()) {
      const tally = this.tallies.get(stats.taskType);
      load.push(
        stats.closeWindow(
          depths.get(stats.taskType) ?? 0,
          tally?.inFlight ?? 0,
          this.tracker.counts.get(stats.taskType)?.blocked ?? 0,
          tally?.runningForMs ?? 0,
          this.usage.predictedDurationMs(stats.taskType),
          this.tracker.successorTypes.get(stats.taskType),
          this.usage.durationErrorRatio(stats.taskType),
        ),
      );
    }
    this.options.history.pool(this.servingNow);
    return {
      nowMs,
      windowMs: this.options.tickMs,
      limits: this.options.limits,
      swarmlets,
      load,
      jobProfiles: this.options.history.profiles(),
    };
  }

  private act(action: Action, nowMs: number): void {
    this.logAction(nowMs, action);
    switch (action.kind) {
      case 'replicate':
        return void this.pool.start(action.taskType, nowMs, false);
      case 'prewarm':
        if (action.swarmletId === undefined) return void this.pool.start(action.taskType, nowMs, true);
        return this.pool.preload(this.swarmlets.get(action.swarmletId)!, action.taskType);
      case 'specialize':
        return this.pool.specialize(this.swarmlets.get(action.swarmletId)!, action.toTaskType, nowMs);
      case 'consolidate':
      case 'deprovision':
      case 'reclaim':
        return this.pool.retire(this.swarmlets.get(action.swarmletId)!, action.reason, nowMs);
    }
  }

  // ── provider events ─────────────────────────────────────────────────────

  up(swarmletId: string, atMs: number): void {
    this.run(async () => {
      const swarmlet = this.swarmlets.get(swarmletId);
      if (swarmlet?.state === 'starting') swarmlet.transition('warming', atMs);
      // With history to act on, let the loop preload into the new process now rather than at the next tick.
      if (this.options.history.profiles().length > 0) await this.tick();
    });
  }

  ready(
    swarmletId: string,
    taskType: string,
    atMs: number,
    loadMs: number,
    activated: boolean,
    stateful: boolean,
  ): void {
    this.run(async () => {
      const swarmlet = this.swarmlets.get(swarmletId);
      if (!swarmlet || swarmlet.state === 'stopped') return;
      this.pool.countLoad(swarmlet, taskType, loadMs);
      if (!activated) return;
      this.loads.loaded(taskType);
      if (taskType === swarmlet.taskType) {
        swarmlet.stateful = stateful;
        swarmlet.stateSaved = true; // it holds the state it restored: nothing new to save until it runs work
      }
      if (swarmlet.state === 'starting') swarmlet.transition('warming', atMs);
      if (swarmlet.state !== 'warming') return;
      swarmlet.transition('idle', atMs);
      swarmlet.lastBusyAtMs = atMs;
      if (swarmlet.stopReason !== undefined) return this.pool.retire(swarmlet, swarmlet.stopReason, atMs);
      await this.dispatcher.pump();
    });
  }

  loadFailed(swarmletId: string, taskType: string, atMs: number, message: string): void {
    this.run(() => {
      const swarmlet = this.swarmlets.get(swarmletId);
      if (swarmlet?.loadingTypes.delete(taskType)) {
        // Only a preload ahead of demand failed: the swarmlet still serves its own type. If the type is
        // really needed, its demand-driven load will fail the jobs then.
        this.faults.push({
          atMs: atMs - this.startedAtMs,
          swarmletId,
          detail: `preload of ${taskType} failed: ${message}`,
          requeued: 0,
        });
        return;
      }
      this.provider.stop(swarmletId);
      if (message.startsWith(RESTORE_FAILED) && this.pool.states.discard(taskType)) {
        // One job's data made a state the type cannot restore: drop it rather than fail every later job.
        const detail = `saved state of ${taskType} discarded (${message}); the type starts afresh`;
        this.faults.push({ atMs: atMs - this.startedAtMs, swarmletId, detail, requeued: 0 });
        return;
      }
      this.failType(taskType, message);
      this.settleJobs();
    });
  }

  /** A type that cannot load fails the jobs that need it; the others go on. */
  private failType(taskType: string, message: string): void {
    const error = new TaskModuleError(this.options.taskTypes.get(taskType)?.sourcePath ?? taskType, message);
    for (const jobId of jobsNeeding(
      this.tracker,
      [...this.pending.values()].map((job) => job.record),
      taskType,
    ))
      this.tracker.abort(jobId, error);
  }

  sample(swarmletId: string, sample: MonitorSample): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet) return;
    swarmlet.rssMb = sample.rssMb;
    swarmlet.lastSample = sample;
  }

  state(swarmletId: string, taskType: string, atMs: number, state: unknown): void {
    this.run(() => this.pool.stateAnswered(swarmletId, taskType, atMs, { state }));
  }

  stateFailed(swarmletId: string, taskType: string, atMs: number, message: string): void {
    this.run(() => this.pool.stateAnswered(swarmletId, taskType, atMs, { message }));
  }

  results(swarmletId: string, results: WireResult[], atMs: number): void {
    this.run(
      async () => {
        const swarmlet = this.swarmlets.get(swarmletId);
        if (!swarmlet) return;
        swarmlet.progressAtMs = atMs;
        const ready: number[] = [];
        const completed: number[] = [];
        for (const result of results) {
          if (!swarmlet.inFlight.delete(result[0])) continue; // late or duplicate: recorded once only
          swarmlet.ranLately(this.tracker.tasks.get(result[0]));
          swarmlet.stateSaved = false; // it ran work: its state may have changed
          try {
            await this.recordResult(result, atMs, ready, completed);
          } catch (error) {
            // A bug while recording one micro-task fails its job alone; the batch's other results go on.
            this.internalFault(error, () => jobsOf(this.tracker, [result[0]]));
            completed.push(result[0]);
          }
        }
        await this.options.broker.complete(completed);
        await this.dispatcher.enqueue(refuseUnserved(this.tracker, ready, this.options.unserved));
        this.afterWork(swarmlet, atMs);
        this.settleJobs();
        await this.dispatcher.pump();
      },
      () =>
        jobsOf(
          this.tracker,
          results.map((result) => result[0]),
        ),
    );
  }

  /** One micro-task's result: usage feedback, then retry, completion or split; what it unblocks goes to `ready`. */
  private async recordResult(result: WireResult, atMs: number, ready: number[], completed: number[]): Promise<void> {
    const [id, status, value, durationUs, usage] = result;
    const task = this.tracker.tasks.get(id);
    if (!task) return void completed.push(id);
    const stats = this.stats.get(task.taskType)!;
    stats.completed(durationUs / 1000);
    this.usage.completed(
      task.taskType,
      task.id,
      task.label,
      durationUs / 1000,
      atMs - this.startedAtMs,
      task.input,
      usage && { cpuUs: usage[0], rssKb: usage[1] },
      phaseOf(task.mode, status),
    );
    if (status === RESULT_ERROR)
      return this.dispatcher.retryOrFail([id], value as Parameters<Dispatcher['retryOrFail']>[1]);
    completed.push(id);
    const newlyReady = status === RESULT_OK ? this.tracker.completed(id, value) : this.tracker.split(id, value);
    for (const next of newlyReady) ready.push(next.id);
  }

  printed(swarmletId: string, atMs: number, line: string): void {
    this.printedLines.record(atMs, swarmletId, line, (label) => this.jobOfLabel(swarmletId, label));
  }

  /** The job of the micro-task with this label the swarmlet holds or just ran (a line may come after its result). */
  private jobOfLabel(swarmletId: string, label: string): number | undefined {
    const swarmlet = this.swarmlets.get(swarmletId);
    for (const id of swarmlet?.inFlight ?? []) {
      const task = this.tracker.tasks.get(id);
      if (task?.label === label) return task.jobId;
    }
    return swarmlet?.recentLabels.get(label);
  }

  /**
   * The last lines a swarmlet, or a micro-task, printed. A micro-task's id is `<job>:<label>` (its label is what its
   * task sees as `context.id`).
   */
  taskLogs(query: TaskLogQuery): { lines: TaskLogLine[] } {
    return { lines: this.printedLines.lines(query) };
  }

  exited(swarmletId: string, atMs: number, detail: string, lastStarted?: number | null): void {
    const held = jobsOf(this.tracker, this.swarmlets.get(swarmletId)?.inFlight ?? []);
    this.run(
      async () => {
        const swarmlet = this.swarmlets.get(swarmletId);
        if (!swarmlet || swarmlet.state === 'stopped') return;
        const orphans = [...swarmlet.inFlight];
        const wasLoading = isLoading(swarmlet) && swarmlet.stopReason === undefined;
        const timedOut = swarmlet.limitCulprit === -1;
        swarmlet.inFlight.clear();
        for (const id of orphans) this.usage.forget(id);
        // Only the micro-task that was running can have caused the exit: it pays an attempt; those
        // queued behind it never started and go back for free.
        const culprit = culpritOf(orphans, lastStarted, swarmlet.limitCulprit);
        const innocents = orphans.filter((id) => id !== culprit);
        await this.options.broker.requeue(innocents);
        for (const id of innocents) this.dispatcher.requeued(id);
        swarmlet.transition('stopped', atMs);
        this.reservations.release(swarmletId, atMs);
        this.swarmlets.delete(swarmletId);
        this.pool.states.forget(swarmletId);
        this.stopped.push(swarmlet);
        if (this.stopped.length > HISTORY_LIMIT) this.stopped.shift();
        if (swarmlet.stopReason === undefined || orphans.length > 0) {
          const charged = culprit === undefined ? undefined : (this.tracker.tasks.get(culprit)?.label ?? `${culprit}`);
          const fault = { atMs: atMs - this.startedAtMs, swarmletId, detail, requeued: orphans.length };
          this.faults.push(charged === undefined ? fault : { ...fault, charged });
        }
        if (culprit !== undefined)
          await this.dispatcher.retryOrFail([culprit], {
            message: `swarmlet ${swarmletId} ${detail} while running it`,
          });
        if (wasLoading && this.loads.failed(swarmlet.taskType, timedOut))
          this.failType(swarmlet.taskType, `its swarmlets keep dying while loading it (last: ${detail})`);
        this.settleJobs();
        if (swarmlet.stopReason === undefined) this.replaceCrashed(swarmlet, detail, atMs);
        await this.dispatcher.pump();
      },
      () => held,
    );
  }

  /**
   * A swarmlet that died unplanned is replaced at once (from a spare process: a module load, not a
   * fork) while its type has work waiting, instead of at the policy's next tick: the pool the policy
   * chose is restored, and the replacement is logged as a `replicate` with its reason.
   */
  private replaceCrashed(crashed: SwarmletRecord, detail: string, atMs: number): void {
    const taskType = crashed.taskType;
    const live = [...this.swarmlets.values()].filter((s) => s.state !== 'stopped').length;
    if ((this.dispatcher.queued.get(taskType) ?? 0) === 0 || live >= this.options.limits.maxSwarmlets) return;
    const action = { kind: 'replicate', taskType, reason: `replaces ${crashed.id} (${detail})` } as const;
    this.logAction(atMs, action);
    this.pool.start(taskType, atMs, false);
  }

  // ── outcomes ────────────────────────────────────────────────────────────

  /**
   * After results: an emptied swarmlet goes idle, or carries out a specialization or stop that waited for it (saving a
   * stateful type's state first).
   */
  private afterWork(swarmlet: SwarmletRecord, atMs: number): void {
    if (swarmlet.inFlight.size > 0 || swarmlet.state === 'stopped') return;
    this.reservations.release(swarmlet.id, atMs);
    swarmlet.isolated = false;
    if (swarmlet.state === 'busy') swarmlet.transition('idle', atMs);
    this.pool.proceed(swarmlet, atMs);
  }

  private logAction(atMs: number, action: Action): void {
    this.actionLog.push({ atMs, action });
    this.actionsLogged += 1;
    this.actionCounts.set(action.kind, (this.actionCounts.get(action.kind) ?? 0) + 1);
    if (this.actionLog.length > ACTION_LOG_LIMIT) this.actionLog.shift();
  }

  private settleJobs(): void {
    const ended = this.endedJobs;
    this.endedJobs = [];
    for (const id of ended) {
      const job = this.pending.get(id);
      if (!job) continue;
      this.pending.delete(id);
      this.options.history.ended(id, job.record.status === 'done');
      this.outcomes.ended(id, jobEnd(job.record), this.clock.nowMs(), jobDetail(job.record, job.label));
      if (job.record.status === 'done') job.resolve(job.record.output);
      else job.reject(job.record.error!);
    }
    // A failed job's micro-tasks still waiting would hold demand for their type (and start swarmlets) for nothing.
    const cancelled = this.tracker.takeCancelled();
    if (cancelled.length > 0) this.run(async () => void (await this.options.broker.cancel(cancelled)));
  }

  /**
   * Each busy swarmlet's running micro-task against its type's predicted duration (anomaly detection while it runs).
   * Returns what isolated runaways had queued (to requeue): a tick without any goes on without waiting.
   */
  private watchRunaways(nowMs: number): number[] {
    const moved: number[] = [];
    watchRunaways(
      this.swarmlets.values(),
      this.taskOf,
      this.usage,
      nowMs,
      this.startedAtMs,
      this.options.hardLimits.onRunaway,
      this.kill,
      (swarmlet, runningId) => {
        const ids = isolateRunaway(swarmlet, runningId, (swarmletId, taskIds) =>
          this.provider.drop(swarmletId, taskIds),
        );
        this.faults.push({
          atMs: nowMs - this.startedAtMs,
          swarmletId: swarmlet.id,
          detail: `isolated with runaway micro-task ${this.tracker.tasks.get(runningId)?.label ?? runningId}`,
          requeued: ids.length,
        });
        moved.push(...ids);
      },
    );
    return moved;
  }

  /** What isolated runaways had queued behind them goes back to the broker, for other swarmlets. */
  private async requeueRunaways(moved: number[]): Promise<void> {
    for (const id of moved) this.usage.forget(id);
    await this.options.broker.requeue(moved);
    for (const id of moved) this.dispatcher.requeued(id);
  }

  /** Under overload, lower classes are refused with the class, the predicted backlog and the limit. */
  private admitOrThrow(job: Job): void {
    // A type no swarmlet could hold is refused whatever the load: running it would only be killed.
    const unfit = this.reservations.firstUnfit('tasks' in job ? job.tasks.map((t) => t.type) : [job.type]);
    if (unfit !== undefined) throw new AdmissionError(unfit, undefined);
    if (!this.options.admission) return;
    const predictedMs = (taskType: string) => this.usage.predictedDurationMs(taskType) ?? 0;
    const workers = [...this.swarmlets.values()].filter((s) => s.serving).length;
    const decision = admitJob(job.priority, this.dispatcher.queued, predictedMs, workers, this.options.admission);
    if (!decision.admitted) throw new AdmissionError(decision.reason, decision.retryAfterMs);
  }

  // ── reporting ───────────────────────────────────────────────────────────

  private publishProgress(nowMs: number): void {
    if (!this.progressListener) return; // nobody watches (a simulation, a library user): no view to build
    const view = progressView(nowMs, this.lastProgress, this.reportSources());
    this.lastProgress = view;
    this.progressListener?.(view);
  }

  summary(): RunSummary {
    return runSummary(
      this.clock.nowMs() - this.startedAtMs,
      this.startedAtMs,
      this.options.policy.name,
      this.reportSources(),
    );
  }

  private reportSources(): ReportSources {
    return {
      stats: this.stats,
      counts: this.tracker.counts,
      swarmlets: [...this.stopped, ...this.swarmlets.values()],
      actionLog: this.actionLog,
      actionsLogged: this.actionsLogged,
      actionCounts: this.actionCounts,
      queued: this.dispatcher.queued,
      faults: this.faults,
      usage: this.usage,
      jobs: this.outcomes.finished,
      reservations: this.reservations,
      limits: {
        ...this.options.hardLimits,
        memoryEnforcement: this.provider.memoryEnforcement ?? 'none',
        sandbox: this.provider.sandbox ?? 'none',
      },
    };
  }

  /**
   * Cancels a running job: its waiting micro-tasks leave the queue, its running ones finish unseen, its promise
   * rejects with JobCancelledError; no other job is touched. Resolves false when no such job is running.
   */
  cancel(jobId: number): Promise<boolean> {
    return new Promise((resolve) =>
      this.run(() => {
        const cancelled = this.tracker.cancel(jobId);
        this.settleJobs();
        resolve(cancelled);
      }),
    );
  }

  /** Running and recently finished jobs with their progress per task type, newest first (for the API). */
  jobs(): JobView[] {
    return jobViews(this.pending.values(), this.outcomes, this.clock.nowMs());
  }

  /** The policy's name, when the swarm started (its clock) and how long it has run (ms). */
  about(): { policy: string; startedAtMs: number; uptimeMs: number } {
    return {
      policy: this.options.policy.name,
      startedAtMs: this.startedAtMs,
      uptimeMs: this.clock.nowMs() - this.startedAtMs,
    };
  }

  /** What the run measured so far (read only): for the API's views and metrics. */
  sources(): ReportSources {
    return this.reportSources();
  }

  /** The latest saved state of each stateful task type (task-state.ts). */
  taskStates(): ReadonlyMap<string, SavedState> {
    return this.pool.states.saved;
  }

  /** For fault tests: the swarmlets and their states. */
  swarmletStates(): { id: string; taskType: string; state: string; inFlight: number; pid: number | undefined }[] {
    return [...this.stopped, ...this.swarmlets.values()].map((s) => ({
      id: s.id,
      taskType: s.taskType,
      state: s.state,
      inFlight: s.inFlight.size,
      pid: s.state === 'stopped' ? undefined : this.provider.pidOf?.(s.id),
    }));
  }
}
