import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { sleep, type Environment } from '../../core/environment.js';
import { epochEnvironment } from '../local/wall-environment.js';
import { LIMITS } from '../../core/limits.js';
import type { Action } from '../../core/actions.js';
import { silentLogger, type LogFields, type Logger } from '../../core/logger.js';
import { WarningLimiter } from '../../core/warning-limiter.js';
import { adaptivePolicy } from '../../decide/policies/adaptive.js';
import type { Policy } from '../../decide/policy.js';
import type { Snapshot } from '../../decide/snapshot.js';
import type { PaymentRule } from '../../place/auction.js';
import { DEFAULT_HEALTH_OPTIONS } from '../../place/node-health.js';
import { BullmqBroker } from '../brokers/bullmq-broker.js';
import type { MicroTask } from '../jobs/micro-task.js';
import type { AdmissionLimits } from '../../schedule/admission.js';
import { leaseBatchSize } from '../../schedule/lease-batch.js';
import { prefetchFor } from '../type-stats.js';
import type { TaskLogLine, TaskLogQuery } from '../task-log-book.js';
import { AdmissionGate } from './admission-gate.js';
import { BundleRefusals } from './bundle-refusals.js';
import { CAP_BREAK_MEMORY_MS, CapBreaks } from './cap-breaks.js';
import type { ClusterPool, LiveNode } from './cluster-pool.js';
import { DirectorLoop } from './director-loop.js';
import { DirectorRecords } from './director-records.js';
import { JobCancels, submitJob, type SubmitOptions } from './director-jobs.js';
import { LogTrimPoints } from './log-trim.js';
import { readTaskLogs } from './task-log-reader.js';
import type { JobBook } from './job-book.js';
import { readLiveNodes } from './live-nodes.js';
import { DirectorLease } from './director-lease.js';
import { DesiredStates } from './desired-states.js';
import { ModuleRecords } from './module-records.js';
import { connectRedis, redisConnectionOptions, type RedisTls } from './redis-connect.js';
import { isResultsEntry } from './hot-checks.js';
import { failedStep, isWrongType, readLogBase, withTypeRepair, wrongLogType, type RedisType } from './redis-repair.js';
import {
  DEFAULT_PREFIX,
  keys,
  jobOutcomeSchema,
  logEntrySchema,
  parseStored,
  type ClusterProgress,
  type JobOutcome,
  type LogEntry,
  type ModuleRecord,
  type NodeStateRecord,
} from './protocol.js';

export interface DirectorOptions {
  readonly redisUrl: string;
  /** For a `rediss://` URL: the CA, and this client's certificate and key (PEM text). */
  readonly redisTls?: RedisTls;
  readonly prefix?: string;
  readonly policy?: Policy;
  readonly tickMs?: number;
  readonly maxAttempts?: number;
  /** A node silent this long is dead (its heartbeat key expires at its own TTL; this bounds the director's view). */
  readonly nodeTtlMs?: number;
  /** Log entries stay at least this long after they could be trimmed (recent history to inspect). Default 60 000. */
  readonly logRetentionMs?: number;
  /** How long a second director waits for the first one's lease before it gives up (default 2 × the lease). */
  readonly leaseWaitMs?: number;
  /** A lease not renewed for this long returns to the queue (the holder died). */
  readonly lockDurationMs?: number;
  /** Where the director says what it does (default: nowhere); warnings repeated under one topic are rate-limited. */
  readonly logger?: Logger;
  /** How auction winners are paid: `critical-value` (truthful, default) or `bid`. */
  readonly payment?: PaymentRule;
  /** Admission control by class on the predicted backlog (as `Swarm`'s `admission`); undefined: admit everything. */
  readonly admission?: AdmissionLimits;
  /**
   * Most micro-tasks per BullMQ job when many are ready at once (schedule/lease-batch.ts); 1: one job per micro-task.
   * Default 64.
   */
  readonly batchMax?: number;
  /** A warning repeated under one topic (a bad key read every tick) is said once per this interval. Default 30 000. */
  readonly warningIntervalMs?: number;
  /** Time for the warning limiter (tests pass a virtual one). Default: the wall clock. */
  readonly clock?: Clock;
  /** Where the director's time and timers come from. Default: the epoch clock and Node's timers. */
  readonly environment?: Environment;
  /**
   * Where its morphing actions and auctions are kept for the HTTP API; one object for the process, so a supervisor's
   * next director continues the numbering. Default: its own.
   */
  readonly records?: DirectorRecords;
}

const LOG_PAGE = 1_000;
/** What a swarmlet of a type with no hint and no measurement claims on a node, and its expected life (for pricing). */
export const DIRECTOR_POOL = { swarmletCpu: 1, swarmletMemoryMb: 60, slotLifeMs: 60_000 } as const;
const PROGRESS_TTL_MS = 60_000;
const OUTCOME_TTL_S = 24 * 3600;
const DECISIONS_KEPT = 100;
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
  /** Which agents refused which bundle; each type's bundle hash as its latest job's module record gave it. */
  private readonly refusals = new BundleRefusals();
  private readonly bundleHashes = new Map<string, string>();
  /** Where types broke nodes' consent caps lately: kept off those nodes while another can take them. */
  private readonly capBreaks = new CapBreaks();
  private liveNodeIds: ReadonlySet<string> = new Set();
  /** Bundles whose `unrunnable` entry is written and not yet read back from the log. */
  private readonly verdictsPending = new Set<string>();
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
        refusedBy: (taskType) => this.refusals.refusers(taskType, this.bundleHashes.get(taskType)),
        capBreaksOf: (taskType) => this.capBreaks.keptOut(taskType, this.nowMs(), this.liveNodeIds),
      },
    });
    this.book = this.loop.book;
    this.trimPoints = new LogTrimPoints(options.logRetentionMs);
    this.pool = this.loop.pool;
    this.modules = new ModuleRecords(redis, this.k, (topic, line) => warnings.warn(topic, line));
    this.desired = new DesiredStates(redis, this.k, options.prefix, (topic, line) => warnings.warn(topic, line));
    this.gate = new AdmissionGate(redis, this.k, options.admission, OUTCOME_TTL_S);
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
        if (refused) await this.publishOutcome(refused.jobKey, refused.outcome, live ? 'store' : 'replayed');
        return;
      }
      for (const taskType of entry.modules) this.refusals.forgetType(taskType);
    } else if (entry.kind === 'refusal') {
      this.refusals.record(entry);
      if (live) this.withdrawRefused(entry);
    } else if (entry.kind === 'unrunnable') {
      this.verdictsPending.delete(`${entry.taskType}\n${entry.hash}`);
      if (live)
        this.logger.error(
          { taskType: entry.taskType, hash: entry.hash },
          `task type ${entry.taskType}: bundle ${entry.hash} refused by every live agent (${entry.refusals.map((r) => r.nodeId).join(', ')}): its jobs fail`,
        );
    } else if (entry.kind === 'fault') {
      if (live && entry.capBreak) this.moveAfterCapBreak(entry);
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
      await this.publishOutcome(jobKey, outcome, live ? 'store' : 'replayed');
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
    await this.publishOutcome(entry.jobKey, await this.gate.refuse(id, entry.jobKey, decision), 'stored');
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

  /**
   * Stores a job's outcome (unless `stored` already) and tells waiting clients. A replay stores only
   * where no outcome is: the one stored live stands, even if the replay now reads a module record
   * that changed since (a later run of the same key has overwritten an earlier one live).
   */
  private async publishOutcome(
    jobKey: string,
    outcome: JobOutcome,
    how: 'store' | 'replayed' | 'stored',
  ): Promise<void> {
    const key = this.k.job(jobKey);
    if (how === 'store') await this.redis.set(key, JSON.stringify(outcome), 'EX', OUTCOME_TTL_S);
    if (how === 'replayed') await this.redis.set(key, JSON.stringify(outcome), 'EX', OUTCOME_TTL_S, 'NX');
    await this.redis.publish(this.k.jobDone, jobKey);
    if (outcome.status === 'refused')
      return this.logger.warn(
        { jobId: jobKey, status: outcome.status },
        `job ${jobKey}: refused by admission control: ${outcome.error}`,
      );
    this.logger.info(
      { jobId: jobKey, status: outcome.status, microTasks: outcome.microTasks, wallMs: outcome.wallMs },
      `job ${jobKey}: ${outcome.status} after ${outcome.microTasks} micro-task(s) in ${outcome.wallMs} ms${outcome.duplicateResults > 0 ? ` (${outcome.duplicateResults} duplicate result(s) ignored)` : ''}`,
    );
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
      this.liveNodeIds = new Set(nodes.keys());
      await this.recordNodeTransitions();
      this.refusals.forgetExcept(new Set(nodes.keys()));
      await this.failRefusedEverywhere(nodes.keys());
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
      if (decisions.length > 0)
        await this.repairing(this.k.decisions, 'list', 'earlier auctions, a report only', () =>
          this.redis
            .multi()
            .lpush(this.k.decisions, ...decisions.map((d) => JSON.stringify(d)))
            .ltrim(this.k.decisions, 0, DECISIONS_KEPT - 1)
            .exec()
            .then(failedStep),
        );
      for (const { nodeId, state: desired } of this.pool.takeChanged()) await this.desired.write(nodeId, desired);
      await this.desired.verify();
      if (this.ticks % VERIFY_MODULES_EVERY_TICKS === 0) await this.modules.verify();
      await this.publishProgress(snapshot, nowMs);
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
  async cancel(jobKey: string, reason: string): Promise<'cancelled' | 'done' | 'failed' | undefined> {
    if (this.book.running(jobKey)) {
      const entry: LogEntry = { kind: 'cancel', jobKey, reason };
      const id = await this.redis.xadd(this.k.log, '*', 'e', JSON.stringify(entry));
      await this.cancels.until(id!, () => this.lastLogId);
    }
    const ended = this.book.ended.find(jobKey);
    if (ended) return ended.state === 'running' ? undefined : ended.state;
    const key = this.k.job(jobKey);
    const status = parseStoredOr(jobOutcomeSchema, await this.redis.get(key), key)?.status;
    return status === 'refused' ? 'failed' : status;
  }

  /** What tasks printed, as agents shipped it to Redis (task-log-shipper.ts), oldest first. */
  taskLogs(query: TaskLogQuery): Promise<TaskLogLine[]> {
    return readTaskLogs(this.redis, this.k, query);
  }

  /** An agent refused a bundle: said (rate-limited per type), and its swarmlets of the type are wanted elsewhere. */
  private withdrawRefused(refusal: Extract<LogEntry, { kind: 'refusal' }>): void {
    const { nodeId, taskType, hash, reason } = refusal;
    this.warnings.warn(
      `refusal:${taskType}:${nodeId}`,
      `bundle of ${taskType} (${hash}) refused by agent ${nodeId}: ${reason}`,
      { taskType, nodeId, hash },
    );
    const withdrawn = this.pool.withdraw(nodeId, taskType);
    if (withdrawn.length > 0)
      this.logger.info(
        { taskType, nodeId, swarmletIds: withdrawn },
        `withdrawn: ${withdrawn.join(', ')} (${taskType}) from ${nodeId}, which refused its bundle; placed elsewhere`,
      );
  }

  /**
   * A type broke a node's consent caps: its swarmlets there are withdrawn and the node is kept out of its placements
   * for a while (cap-breaks.ts), so the retried micro-task runs elsewhere; unless no other live node is left for it.
   */
  private moveAfterCapBreak(fault: Extract<LogEntry, { kind: 'fault' }>): void {
    const { nodeId, taskType, reason } = fault;
    this.capBreaks.record(nodeId, taskType, reason, this.nowMs());
    if (!this.capBreaks.keptOut(taskType, this.nowMs(), this.liveNodeIds).has(nodeId)) {
      this.logger.warn(
        { taskType, nodeId },
        `${taskType} broke the consent caps of ${nodeId} (${reason}); no other live node to move it to`,
      );
      return;
    }
    const withdrawn = this.pool.withdraw(nodeId, taskType);
    this.logger.warn(
      { taskType, nodeId, swarmletIds: withdrawn },
      `${taskType} broke the consent caps of ${nodeId} (${reason}): ${withdrawn.length > 0 ? `withdrawn: ${withdrawn.join(', ')}; ` : ''}placed elsewhere for ${CAP_BREAK_MEMORY_MS / 1000} s`,
    );
  }

  /**
   * A bundle running jobs need that every live agent refused will never run: an `unrunnable` entry goes to the log,
   * and applying it fails those jobs (so a replay fails them at the same point).
   */
  private async failRefusedEverywhere(liveNodeIds: Iterable<string>): Promise<void> {
    const live = [...liveNodeIds];
    for (const taskType of this.book.runningTaskTypes()) {
      const hash = this.bundleHashes.get(taskType);
      const bundle = `${taskType}\n${hash}`;
      if (hash === undefined || this.verdictsPending.has(bundle)) continue;
      const refusals = this.refusals.refusedByEveryLiveNode(taskType, hash, live);
      if (refusals === undefined) continue;
      const entry: LogEntry = { kind: 'unrunnable', taskType, hash, refusals: [...refusals] };
      this.verdictsPending.add(bundle); // before the write: the log reader may apply it before the write returns
      await this.redis.xadd(this.k.log, '*', 'e', JSON.stringify(entry)).catch((error: unknown) => {
        this.verdictsPending.delete(bundle); // tried again next tick
        throw error;
      });
    }
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

  /** Each node lifecycle edge goes to the log and to `P:node-states` (the node's latest state, for reports). */
  private async recordNodeTransitions(): Promise<void> {
    const transitions = this.pool.takeTransitions();
    if (transitions.length === 0) return;
    const latest: Record<string, string> = {};
    for (const { nodeId, from, to, reason, atMs } of transitions) {
      this.logger.info(
        { nodeId, from: from ?? 'unseen', to },
        `node ${nodeId}: ${from ?? 'unseen'} → ${to}: ${reason}`,
      );
      latest[nodeId] = JSON.stringify({ state: to, sinceMs: atMs, reason } satisfies NodeStateRecord);
    }
    await this.repairing(this.k.nodeStates, 'hash', 'earlier node states, a report only', () =>
      this.redis.hset(this.k.nodeStates, latest),
    );
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

  private async publishProgress(snapshot: Snapshot, nowMs: number): Promise<void> {
    const jobs = this.book.progress();
    if (jobs.length === 0) return;
    const serving = new Map<string, number>();
    for (const s of snapshot.swarmlets) serving.set(s.taskType, (serving.get(s.taskType) ?? 0) + 1);
    const pipeline = this.redis.pipeline();
    for (const { jobKey, taskTypes, faults } of jobs) {
      const progress: ClusterProgress = {
        atMs: nowMs,
        taskTypes: taskTypes.map((t) => ({ ...t, swarmlets: serving.get(t.taskType) ?? 0 })),
        ...(faults.length > 0 && { faults: [...faults] }),
      };
      pipeline.set(this.k.progress(jobKey), JSON.stringify(progress), 'PX', PROGRESS_TTL_MS);
    }
    await pipeline.exec();
  }
}

/** An action's ids as log fields (the swarmlet it acts on, the task type it serves or becomes). */
function actionFields(action: Action): LogFields {
  const taskType =
    action.kind === 'specialize' ? action.toTaskType : 'taskType' in action ? action.taskType : undefined;
  return {
    action: action.kind,
    ...('swarmletId' in action && action.swarmletId !== undefined && { swarmletId: action.swarmletId }),
    ...(taskType !== undefined && { taskType }),
  };
}

/** A stored value, or undefined when it is missing or does not parse (a report, not a step that must succeed). */
function parseStoredOr<T>(schema: z.ZodType<T>, raw: string | null, key: string): T | undefined {
  try {
    return parseStored(schema, raw, key);
  } catch {
    return undefined;
  }
}
