import type { Redis } from 'ioredis';
import { sleep, type Environment } from '../../core/environment.js';
import { epochEnvironment } from '../local/wall-environment.js';
import { LIMITS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { WarningLimiter } from '../../core/warning-limiter.js';
import { adaptivePolicy } from '../../decide/policies/adaptive.js';
import type { Policy } from '../../decide/policy.js';
import { DEFAULT_HEALTH_OPTIONS } from '../../place/node-health.js';
import { BullmqBroker } from '../brokers/bullmq-broker.js';
import type { MicroTask } from '../jobs/micro-task.js';
import { leaseBatchSize } from '../../schedule/lease-batch.js';
import { prefetchFor } from '../type-stats.js';
import type { TaskLogLine, TaskLogQuery } from '../task-log-book.js';
import { AdmissionGate } from './admission-gate.js';
import type { ClusterPool, LiveNode } from './cluster-pool.js';
import { DirectorLoop } from './director-loop.js';
import { DirectorRecords } from './director-records.js';
import { cancelJob, JobCancels, submitJob, type SubmitOptions } from './director-jobs.js';
import { DIRECTOR_POOL, type DirectorOptions } from './director-options.js';
import { actionFields, DirectorReports } from './director-reports.js';
import { OUTCOME_TTL_S, OutcomePublisher } from './outcome-publisher.js';
import { PlacementFaults } from './placement-faults.js';
import { LogTrimPoints } from './log-trim.js';
import { readTaskLogs } from './task-log-reader.js';
import type { JobBook } from './job-book.js';
import { readLiveNodes } from './live-nodes.js';
import { DirectorLease } from './director-lease.js';
import { DesiredStates } from './desired-states.js';
import { ModuleRecords } from './module-records.js';
import { connectRedis, redisConnectionOptions } from './redis-connect.js';
import { isResultsEntry } from './hot-checks.js';
import { isWrongType, readLogBase, withTypeRepair, wrongLogType, type RedisType } from './redis-repair.js';
import { DEFAULT_PREFIX, keys, logEntrySchema, parseStored, type LogEntry, type ModuleRecord } from './protocol.js';

export type { DirectorOptions } from './director-options.js';
export { DIRECTOR_POOL } from './director-options.js';

const LOG_PAGE = 1_000;
/** Module records are checked less often than each tick: a check decodes every bundle in Redis. */
const VERIFY_MODULES_EVERY_TICKS = 10;

/**
 * `swarmlet serve`: the director of a cluster. It applies the log (jobs from clients, results from
 * agents) in stream order, hands ready micro-tasks to BullMQ, and every tick runs the same decide
 * step as the embedded runtime on a snapshot built from agents' heartbeats; the policy's actions
 * become desired state per node, placed by auction. All of its state can be rebuilt from Redis:
 * a restarted director replays the log and carries on.
 */
export class ClusterDirector {
  private readonly k: ReturnType<typeof keys>;
  /** The decisions, without Redis (the simulated cluster drives the same loop). */
  private readonly loop: DirectorLoop;
  private readonly book: JobBook;
  private readonly pool: ClusterPool;
  private lastLogId = '0-0';
  private readonly trimPoints: LogTrimPoints;
  private applying = false;
  private stopped = false;
  private cancelTicks: (() => void) | undefined;
  private readonly environment: Environment;
  private consuming: Promise<void> | undefined;
  /** The tick under way: stop waits for it, so none of its commands is written behind a QUIT. */
  private ticking: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly gate: AdmissionGate;
  private readonly desired: DesiredStates;
  private readonly modules: ModuleRecords;
  /** Each type's bundle hash as its latest job's module record gave it. */
  private readonly bundleHashes = new Map<string, string>();
  /** Bundles agents refused and caps types broke: where types are kept off. */
  private readonly placement: PlacementFaults;
  private readonly outcomes: OutcomePublisher;
  private readonly reports: DirectorReports;
  /** Ticks run (for status displays and tests). */
  ticks = 0;
  /** Its morphing actions and auctions, for the HTTP API. */
  readonly records: DirectorRecords;
  readonly startedAtMs: number;
  readonly policyName: string;
  /** The live nodes and queue depths as the last tick read them (for the HTTP API). */
  lastNodes: ReadonlyMap<string, LiveNode> = new Map();
  lastDepths: ReadonlyMap<string, number> = new Map();
  /** Cancels written to the log and not yet applied. */
  private readonly cancels = new JobCancels();

  private constructor(
    private readonly options: Required<
      Omit<
        DirectorOptions,
        'policy' | 'logger' | 'payment' | 'leaseWaitMs' | 'admission' | 'clock' | 'redisTls' | 'environment' | 'records'
      >
    > &
      Pick<DirectorOptions, 'logger' | 'payment' | 'admission' | 'records'>,
    private readonly warnings: WarningLimiter,
    policy: Policy,
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly broker: BullmqBroker,
    private readonly lease: DirectorLease,
    environment: Environment,
  ) {
    this.k = keys(options.prefix);
    this.environment = environment;
    this.records = options.records ?? new DirectorRecords();
    this.startedAtMs = environment.clock.nowMs();
    this.policyName = policy.name;
    this.logger = options.logger ?? silentLogger;
    this.loop = new DirectorLoop({
      policy,
      tickMs: options.tickMs,
      maxAttempts: options.maxAttempts,
      pool: {
        ...DIRECTOR_POOL,
        health: { ...DEFAULT_HEALTH_OPTIONS, ttlMs: options.nodeTtlMs, suspectAfterMs: options.nodeTtlMs / 2 },
        payment: options.payment,
        refusedBy: (taskType) => this.placement.refusedBy(taskType),
        capBreaksOf: (taskType) => this.placement.keptOut(taskType),
      },
    });
    this.book = this.loop.book;
    this.trimPoints = new LogTrimPoints(options.logRetentionMs);
    this.pool = this.loop.pool;
    this.modules = new ModuleRecords(redis, this.k, (topic, line) => warnings.warn(topic, line));
    this.desired = new DesiredStates(redis, this.k, options.prefix, (topic, line) => warnings.warn(topic, line));
    this.gate = new AdmissionGate(redis, this.k, options.admission, OUTCOME_TTL_S);
    const nowMs = () => this.nowMs();
    this.placement = new PlacementFaults(this.pool, this.bundleHashes, redis, this.k, warnings, this.logger, nowMs);
    this.outcomes = new OutcomePublisher(redis, this.k, this.logger);
    this.reports = new DirectorReports(redis, this.k, this.logger, (key, type, loses, step) =>
      this.repairing(key, type, loses, step),
    );
  }

  static async start(options: DirectorOptions): Promise<ClusterDirector> {
    const full = {
      prefix: DEFAULT_PREFIX,
      tickMs: 200,
      maxAttempts: LIMITS.maxAttempts,
      nodeTtlMs: 3_000,
      lockDurationMs: 3_000,
      logRetentionMs: 60_000,
      batchMax: 64,
      warningIntervalMs: 30_000,
      ...options,
    };
    const warnings = new WarningLimiter(full.clock ?? epochEnvironment.clock, full.warningIntervalMs, (line, fields) =>
      (full.logger ?? silentLogger).warn(fields, line),
    );
    // Reconnect errors repeat every retry while Redis is down: one line per interval, then their count.
    const onError = (error: Error): void => warnings.warn('redis', `redis: ${error.message}`);
    const environment = full.environment ?? epochEnvironment;
    const redis = await connectRedis(full.redisUrl, onError, '--redis', full.redisTls, environment.timers);
    const reader = await connectRedis(full.redisUrl, onError, '--redis', full.redisTls, environment.timers);
    const leaseMs = Math.max(1_000, full.tickMs * 10);
    const lease = new DirectorLease(
      redis,
      keys(full.prefix).director,
      leaseMs,
      (key, line) => warnings.warn(key, line),
      environment,
    );
    try {
      await lease.acquire(full.leaseWaitMs ?? 2 * leaseMs, (holder) =>
        full.logger?.info(
          { holder },
          `waiting for the lease of director ${holder} (one director per prefix; a crashed one's lease expires within ${leaseMs} ms)`,
        ),
      );
    } catch (error) {
      reader.disconnect();
      await redis.quit();
      throw error;
    }
    const late: { director?: ClusterDirector } = {}; // the broker is made before the director that sizes its batches
    const broker = new BullmqBroker({
      url: full.redisUrl,
      connection: redisConnectionOptions(full.redisTls),
      prefix: keys(full.prefix).queuePrefix,
      lockDurationMs: full.lockDurationMs,
      batch: (taskType, ready) => late.director?.batchSize(taskType, ready) ?? 1,
      environment,
    });
    const director = (late.director = new ClusterDirector(
      full,
      warnings,
      options.policy ?? (adaptivePolicy() as Policy),
      redis,
      reader,
      broker,
      lease,
      environment,
    ));
    try {
      await director.resume();
    } catch (error) {
      await director.stop(); // hands the lease back: the next director need not wait for it
      throw error;
    }
    director.cancelTicks = director.environment.timers.every(full.tickMs, () => director.startTick());
    director.consuming = director.consume();
    return director;
  }

  private nowMs(): number {
    return this.environment.clock.nowMs();
  }

  private markDone: () => void = () => undefined;
  /** Settles once the director has stopped (asked to, or stepping down after losing its lease). */
  readonly done: Promise<void> = new Promise((resolve) => (this.markDone = resolve));

  /**
   * Work under way ends before the connections close: a command written behind a connection's QUIT makes Redis reset
   * it, which can drop QUIT's own reply (the stop then failed with "Connection is closed."). `done` settles even when a
   * step fails; the failures are thrown together.
   */
  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    this.cancelTicks?.();
    this.reader.disconnect(); // ends a blocking XREAD at once
    const errors: unknown[] = [];
    const attempt = (step: () => Promise<unknown>) => step().catch((error: unknown) => void errors.push(error));
    await this.consuming?.catch(() => undefined);
    await this.ticking;
    await attempt(() => this.broker.close());
    await this.lease.release().catch(() => undefined); // a graceful stop hands over at once
    await attempt(() => this.redis.quit());
    this.cancels.stopped();
    this.markDone();
    if (errors.length > 0) throw new AggregateError(errors, `director: ${errors.length} step(s) of stop failed`);
  }

  /** Takes over: the desired states and the whole log, replayed without enqueueing, then what is still outstanding. */
  private async resume(): Promise<void> {
    const nowMs = this.nowMs();
    for (const [nodeId, state] of await this.desired.readAll()) this.pool.restore(nodeId, state, nowMs);
    const base = await readLogBase(this.redis, this.k);
    if (base) {
      this.book.tracker.restoreCounters(base);
      this.trimPoints.restored(base.minId);
    }
    let replayed = 0;
    for (let start = base ? base.minId : '-'; ; start = `(${this.lastLogId}`) {
      const page = await this.redis.xrange(this.k.log, start, '+', 'COUNT', LOG_PAGE).catch(async (error: unknown) => {
        if (!isWrongType(error)) throw error;
        throw new Error(
          `${await wrongLogType(this.redis, this.k)}. Fix: check --prefix; if it is right, the cluster's keys were overwritten: delete ${this.k.log} (its jobs are lost) and start again`,
        );
      });
      for (const [id, fields] of page) {
        await this.applyEntry(id, fields, false);
        replayed += 1;
      }
      await this.lease.renew(); // a long replay must not let the lease lapse
      if (page.length < LOG_PAGE) break;
    }
    const outstanding = this.book.outstanding();
    if (outstanding.length > 0) await this.broker.enqueue(outstanding.map((task) => this.book.toBrokerTask(task)));
    if (replayed > 0)
      this.logger.info(
        { replayed, outstanding: outstanding.length },
        `resumed: replayed ${replayed} log entries, ${outstanding.length} micro-task(s) outstanding`,
      );
  }

  /** Runs `step` on a key the cluster can do without; a key of the wrong type there is deleted and said once. */
  private repairing<T>(key: string, type: RedisType, loses: string, step: () => Promise<T>): Promise<T> {
    return withTypeRepair(this.redis, key, type, loses, (topic, line) => this.warnings.warn(topic, line), step);
  }

  private async consume(): Promise<void> {
    while (!this.stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await this.reader.xread(
          'COUNT',
          LOG_PAGE,
          'BLOCK',
          500,
          'STREAMS',
          this.k.log,
          this.lastLogId,
        )) as typeof reply;
      } catch (error) {
        if (this.stopped) return;
        this.warnings.warn(`${this.k.log}:read`, `log read failed, retrying: ${(error as Error).message}`);
        await sleep(this.environment.timers, 200);
        continue;
      }
      for (const [, entries] of reply ?? [])
        for (const [id, fields] of entries) await this.applyEntry(id, fields, true);
    }
  }

  /** Never throws: an entry that cannot be applied is skipped with a warning, and the log goes on. */
  private async applyEntry(id: string, fields: string[], live: boolean): Promise<void> {
    this.applying = true; // the log is not trimmed while an entry is half applied
    try {
      await this.applyParsed(id, fields, live);
    } catch (error) {
      this.skipped(`${this.k.log} ${id}: ${(error as Error).message}`);
    } finally {
      this.lastLogId = id;
      this.applying = false;
      this.cancels.applied(id);
    }
  }

  private async applyParsed(id: string, fields: string[], live: boolean): Promise<void> {
    const at = fields.indexOf('e');
    if (at < 0 || at % 2 !== 0)
      return this.skipped(
        `${this.k.log} ${id}: no field "e" (fields: ${fields.filter((_, i) => i % 2 === 0).join(', ')})`,
      );
    let entry: LogEntry | undefined;
    try {
      entry = parseStored(logEntrySchema, fields[at + 1] ?? null, `${this.k.log} ${id}`, isResultsEntry); // results: checked by hand, once per micro-task
    } catch (error) {
      return this.skipped((error as Error).message);
    }
    if (!entry) return;
    if (entry.kind === 'job') {
      if (!(await this.admitted(id, entry, live))) return;
      const unreadable = await this.learnModules(entry.modules);
      if (unreadable !== undefined) {
        const refused = this.book.refuse(entry.jobKey, unreadable);
        if (refused) await this.outcomes.publish(refused.jobKey, refused.outcome, live ? 'store' : 'replayed');
        return;
      }
      for (const taskType of entry.modules) this.placement.refusals.forgetType(taskType);
    } else if (entry.kind === 'refusal' || entry.kind === 'unrunnable' || entry.kind === 'fault') {
      this.placement.applied(entry, live);
    } else if (entry.kind === 'cancel') {
      if (live) this.logger.info({ jobId: entry.jobKey }, `job ${entry.jobKey}: cancel requested (${entry.reason})`);
    } else if (live)
      this.pool.recordResults(
        entry.nodeId,
        entry.results.filter((r) => r.status === 'dead').length,
        Number(id.split('-')[0]),
      );
    const counters = this.book.tracker.counters();
    const { ready, finished } = this.book.apply(entry, Number(id.split('-')[0]));
    if (entry.kind === 'job' && !finished.some((f) => f.jobKey === entry.jobKey))
      this.trimPoints.began(entry.jobKey, id, counters);
    for (const { jobKey } of finished) this.trimPoints.ended(jobKey);
    await this.handOut(ready, live);
    for (const { jobKey, outcome, cancel } of finished) {
      // A failed job's micro-tasks still waiting in BullMQ would only run for nothing.
      if (live && cancel.length > 0)
        this.logger.info(
          { jobId: jobKey },
          `job ${jobKey}: cancelled ${(await this.broker.cancel(cancel)).length} waiting micro-task(s)`,
        );
      await this.outcomes.publish(jobKey, outcome, live ? 'store' : 'replayed');
    }
  }

  /**
   * Admission control (off unless configured). Only a live entry is decided: a refusal is recorded
   * by entry id (with the job's outcome) before the log moves on, so a replay skips exactly the
   * entries refused live.
   */
  private async admitted(id: string, entry: Extract<LogEntry, { kind: 'job' }>, live: boolean): Promise<boolean> {
    const lost = 'admission refusals recorded so far: a replay may run a job refused before';
    if (await this.repairing(this.k.refused, 'zset', lost, () => this.gate.refusedBefore(id))) return false;
    if (!live || this.book.running(entry.jobKey)) return true; // a duplicate submit: the book ignores it
    const decision = this.gate.decide(entry.job, this.book, this.loop.servingTotal());
    if (decision === undefined || decision.admitted) return true;
    await this.outcomes.publish(entry.jobKey, await this.gate.refuse(id, entry.jobKey, decision), 'stored');
    return false;
  }

  private async handOut(ready: readonly MicroTask[], live: boolean): Promise<void> {
    if (ready.length === 0) return;
    const tasks = ready.map((task) => this.book.toBrokerTask(task));
    if (live) await this.broker.enqueue(tasks);
  }

  /** A job's task types, from their module records; the error for its client if one is unreadable. */
  private async learnModules(taskTypes: readonly string[]): Promise<string | undefined> {
    for (const taskType of taskTypes) {
      let record: ModuleRecord | undefined;
      try {
        record = await this.modules.fetch(taskType);
      } catch (error) {
        return (error as Error).message;
      }
      if (!record) continue;
      this.book.addTaskType(record);
      this.bundleHashes.set(taskType, record.hash);
      this.pool.learnType(taskType, {
        ...(record.hintCpu !== undefined && { cpu: record.hintCpu }),
        ...(record.hintMemoryMb !== undefined && { memoryMb: record.hintMemoryMb }),
      });
    }
  }

  /** A log entry that cannot be applied: said (rate-limited: a flood of garbage is one line per interval), skipped. */
  private skipped(reason: string): void {
    this.warnings.warn(this.k.log, `skipped a bad log entry: ${reason}`);
  }

  /** A tick, unless one is under way (a slow Redis stretches ticks; they never overlap) or the director stopped. */
  private startTick(): void {
    if (this.ticking !== undefined || this.stopped) return;
    this.ticking = this.tick().finally(() => (this.ticking = undefined));
  }

  /** observe → decide → act, on heartbeats and queue depths. Never rejects: a failed tick is said; the next runs. */
  private async tick(): Promise<void> {
    try {
      this.ticks += 1;
      this.warnings.flush();
      const nowMs = this.nowMs();
      if (!(await this.lease.renew())) {
        // Another director holds the prefix now (this one stalled past its lease): two directors
        // would both apply the log and place swarmlets, so this one steps down.
        this.logger.warn(
          {},
          'lost the director lease (another director took the prefix, or the lease and its epoch were both overwritten): stepping down',
        );
        void this.stop().catch((error: unknown) => this.logger.error({}, `stepping down: ${(error as Error).message}`));
        return;
      }
      const nodes = await readLiveNodes(this.redis, this.k, (message, topic) => this.warnings.warn(topic, message));
      this.pool.observe(nodes, nowMs);
      this.placement.liveNodeIds = new Set(nodes.keys());
      await this.reports.nodeTransitions(this.pool.takeTransitions());
      this.placement.refusals.forgetExcept(new Set(nodes.keys()));
      await this.placement.failRefusedEverywhere(this.book.runningTaskTypes(), nodes.keys());
      const depths = await this.broker.depths();
      this.lastNodes = nodes;
      this.lastDepths = depths;
      const { snapshot, outcomes } = this.loop.decide(nodes, depths, nowMs);
      for (const { action, outcome } of outcomes) {
        this.logger.info(actionFields(action), `${action.kind}: ${outcome} (${action.reason})`);
        this.records.morph(nowMs, action, outcome);
      }
      const decisions = this.pool.takeDecisions();
      this.records.auctions(decisions);
      await this.reports.decisions(decisions);
      for (const { nodeId, state: desired } of this.pool.takeChanged()) await this.desired.write(nodeId, desired);
      await this.desired.verify();
      if (this.ticks % VERIFY_MODULES_EVERY_TICKS === 0) await this.modules.verify();
      await this.reports.progress(this.book.progress(), snapshot, nowMs);
      await this.trimLog(nowMs);
    } catch (error) {
      if (!this.stopped) this.warnings.warn('tick', `tick failed: ${(error as Error).message}`);
    }
  }

  /** Whether this director acts for the prefix (false once it stopped or stepped down). */
  get leading(): boolean {
    return !this.stopped;
  }

  /** The jobs, pool and usage model it rebuilt from the log (read only: for the HTTP API). */
  get jobBook(): JobBook {
    return this.book;
  }

  get clusterPool(): ClusterPool {
    return this.pool;
  }

  /**
   * Submits a job as `swarmlet run --redis` does (director-jobs.ts): its bundles stored first when `taskPaths` are
   * given, else its types must be registered already. Returns its job key; the director applies it from the log.
   */
  async submit(rawJob: unknown, options: SubmitOptions = {}): Promise<string> {
    if (this.stopped) throw new Error('the director stopped');
    return submitJob(this.redis, this.k, this.modules, rawJob, options, (job) => {
      const decision = this.gate.decide(job, this.book, this.loop.servingTotal());
      return decision === undefined || decision.admitted ? undefined : decision;
    });
  }

  /**
   * Cancels a running job through the log (so a replay cancels it too): resolves once the director applied it, with
   * the job's state then; `undefined` for a key it knows nothing of.
   */
  cancel(jobKey: string, reason: string): Promise<'cancelled' | 'done' | 'failed' | undefined> {
    const { redis, k, book, cancels } = this;
    return cancelJob({ redis, k, book, cancels, lastLogId: () => this.lastLogId }, jobKey, reason);
  }

  /** What tasks printed, as agents shipped it to Redis (task-log-shipper.ts), oldest first. */
  taskLogs(query: TaskLogQuery): Promise<TaskLogLine[]> {
    return readTaskLogs(this.redis, this.k, query);
  }

  /** Micro-tasks per BullMQ job for `ready` of a type handed out at once (schedule/lease-batch.ts). */
  private batchSize(taskType: string, ready: number): number {
    const perSwarmlet = prefetchFor(this.book.usage.predictedDurationMs(taskType));
    return leaseBatchSize({
      ready,
      servingSwarmlets: this.loop.servingOf(taskType),
      perSwarmlet,
      max: this.options.batchMax,
    });
  }

  /**
   * Bounds the log (log-trim.ts says where): the counters at the trim point go to `<prefix>:log-base` first, so a
   * director that replays the rest allocates the same ids; then XTRIM MINID drops what is older.
   */
  private async trimLog(nowMs: number): Promise<void> {
    if (this.applying) return;
    const base = this.trimPoints.due(nowMs, this.lastLogId, this.book.tracker.counters());
    if (base === undefined) return;
    await this.redis.set(this.k.logBase, JSON.stringify(base));
    await this.redis.xtrim(this.k.log, 'MINID', base.minId);
    await this.repairing(this.k.refused, 'zset', 'admission refusals recorded so far', () =>
      this.gate.forgetBefore(base.minId),
    );
    this.trimPoints.trimmed(base.minId);
  }
}
