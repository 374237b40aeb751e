import type { Action } from '../core/actions.js';
import { AdmissionError, SwarmletBugError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { Snapshot } from '../decide/snapshot.js';
import { initialLoopState, step, type LoopState } from '../decide/step.js';
import { JobTracker } from './jobs/job-tracker.js';
import type { MonitorSample, WireResult } from './local/ipc.js';
import type { Provider, ProviderEvents } from './provider.js';
import { jobKey } from './job-history.js';
import type { RunSummary } from './run-report.js';
import { progressView, runSummary, type ProgressView, type ReportSources } from './run-reporter.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import { TypeStats } from './type-stats.js';
import { UsageTracker } from './usage-tracker.js';
import { SwarmletPool } from './swarmlet-pool.js';
import type { SavedState } from './task-state.js';
import { Dispatcher } from './dispatcher.js';
import { NodeReservations } from './node-reservations.js';
import { admitJob, enforceHardLimits } from './hard-limits.js';
import { JobOutcomes } from './job-outcomes.js';
import { jobViews, type JobView } from './job-views.js';
import { PendingJobs } from './pending-jobs.js';
import { LoadWatch } from './load-watch.js';
import { jobsOf, refuseUnserved } from './jobs/job-blame.js';
import { TaskLogBook, type TaskLogLine, type TaskLogQuery } from './task-log-book.js';
import type { OrchestratorOptions } from './orchestrator-options.js';
import { RunRecords } from './run-records.js';
import { PoolObserver } from './pool-observer.js';
import { SwarmletFailures } from './swarmlet-failures.js';
import { Runaways } from './runaways.js';
import { recordResult, type ResultParts } from './result-recording.js';
import { jobOfLabel, swarmletStates } from './run-reading.js';

export type { OrchestratorOptions } from './orchestrator-options.js';
export type { ProgressView } from './run-reporter.js';

/** Consecutive control-loop ticks that throw before every pending job is failed (a loop that cannot act). */
const FAILED_TICKS_LIMIT = 20;

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
  private readonly pending: PendingJobs;
  /** The actions, faults and stopped swarmlets kept for the summary. */
  private readonly records = new RunRecords();
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
  private readonly observer: PoolObserver;
  private readonly failures: SwarmletFailures;
  private readonly runaways: Runaways;
  private readonly resultParts: ResultParts;
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
    this.pending = new PendingJobs(options.history, this.outcomes, () => this.clock.nowMs());
    this.tracker.onJobEnded = (job) => this.pending.ended(job.id);
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
      void this.records.faults.push({ atMs: atMs - this.startedAtMs, swarmletId, detail, requeued: 0 });
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
    this.observer = new PoolObserver(this.swarmlets, this.stats, this.tracker, this.usage);
    const startedAtMs = () => this.startedAtMs;
    const { tracker, usage, dispatcher, reservations, pool, swarmlets, records, loads } = this;
    this.failures = new SwarmletFailures({
      ...{ tracker, usage, dispatcher, reservations, pool, swarmlets, records, loads, startedAtMs },
      ...{ taskTypes: options.taskTypes, provider: this.provider, pending: this.pending, broker: options.broker },
      maxSwarmlets: options.limits.maxSwarmlets,
      settleJobs: () => this.settleJobs(),
    });
    this.runaways = new Runaways({
      ...{ swarmlets, usage, dispatcher, records, startedAtMs, taskOf: this.taskOf, kill: this.kill },
      hardLimits: options.hardLimits,
      provider: this.provider,
      broker: options.broker,
    });
    this.resultParts = { tracker, stats: this.stats, usage, dispatcher };
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
    this.pending.rejectAll('swarm stopped before the job finished');
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
    const result = this.pending.add(record, label);
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
   * Resolves once the work queued so far, and any it queued in turn, is done: a virtual clock advances only then, as
   * time stands still for a fast machine's loop.
   */
  async settled(): Promise<void> {
    for (let serial = this.serial; ; serial = this.serial) {
      await serial;
      if (serial === this.serial) return;
    }
  }

  /**
   * Runs `work` after everything queued before it. A throw there is a Swarmlet bug: it fails only
   * the jobs `blame` names (the ones the work was for), is kept as a fault, and the swarm goes on.
   */
  private run(work: () => Promise<void> | void, blame: () => Iterable<number> = () => []): void {
    this.serial = this.serial.then(work).catch((error: unknown) => this.internalFault(error, blame));
  }

  private internalFault(error: unknown, blame: () => Iterable<number>): void {
    const message = error instanceof Error ? error.message : String(error);
    const jobIds = [...new Set(blame())].filter((id) => this.pending.has(id));
    this.records.faults.push({
      atMs: this.clock.nowMs() - this.startedAtMs,
      swarmletId: '-',
      detail: `internal error${jobIds.length > 0 ? ` in job ${jobIds.join(', ')}` : ''}: ${message}`,
      requeued: 0,
    });
    for (const jobId of jobIds) this.tracker.abort(jobId, new SwarmletBugError(jobId, error));
    if (jobIds.length === 0 && ++this.failedTicksInRow >= FAILED_TICKS_LIMIT) {
      // The loop itself keeps failing: no job can progress, so none is left waiting for ever.
      for (const jobId of this.pending.ids()) this.tracker.abort(jobId, new SwarmletBugError(jobId, error));
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
    const runaways = this.runaways.watch(this.clock.nowMs());
    if (runaways.length > 0) await this.runaways.requeue(runaways);
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
    const { swarmlets, load } = this.observer.observe(nowMs, depths);
    this.options.history.pool(this.observer.servingNow);
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
    this.records.logAction(nowMs, action);
    this.pool.act(action, nowMs);
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
    this.run(() => this.failures.loadFailed(swarmletId, taskType, atMs, message));
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
            await recordResult(this.resultParts, result, atMs - this.startedAtMs, ready, completed);
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

  printed(swarmletId: string, atMs: number, line: string): void {
    this.printedLines.record(atMs, swarmletId, line, (label) =>
      jobOfLabel(this.swarmlets.get(swarmletId), this.tracker, label),
    );
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
      () => this.failures.exited(swarmletId, atMs, detail, lastStarted),
      () => held,
    );
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

  private settleJobs(): void {
    this.pending.settle();
    // A failed job's micro-tasks still waiting would hold demand for their type (and start swarmlets) for nothing.
    const cancelled = this.tracker.takeCancelled();
    if (cancelled.length > 0) this.run(async () => void (await this.options.broker.cancel(cancelled)));
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
      swarmlets: [...this.records.stopped, ...this.swarmlets.values()],
      actionLog: this.records.actionLog,
      actionsLogged: this.records.actionsLogged,
      actionCounts: this.records.actionCounts,
      queued: this.dispatcher.queued,
      faults: this.records.faults,
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
    return jobViews(this.pending.jobs(), this.outcomes, this.clock.nowMs());
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
    return swarmletStates([...this.records.stopped, ...this.swarmlets.values()], this.provider);
  }
}
