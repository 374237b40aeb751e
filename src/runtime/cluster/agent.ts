/**
 * The cluster agent: joins one machine to the swarm (`swarmlet agent --redis …`). It advertises the
 * machine (a heartbeat key with a TTL), reconciles its local swarmlets toward the director's desired
 * state, and runs micro-tasks from the cluster broker on them (agent-work.ts). Consent caps are
 * enforced here whatever the director asks.
 *
 * Reconcile is level-based and idempotent, like a Kubernetes controller: every heartbeat (and on a
 * `desired-changed` message naming this node or `*`) it reads `P:desired:<node>` and plans against
 * what runs (agent-swarmlets.ts): start what is missing, specialize a swarmlet whose type changed
 * (same process, new module: `provider.load(…, activate)`), retire what is no longer desired.
 *
 * Stop semantics: a retired or specializing swarmlet takes no new work and finishes what it holds
 * (at most `prefetchFor` of its type: one long micro-task, or ~2 ms of tiny ones); past
 * `drainTimeoutMs` the rest is requeued without counting an attempt and it stops (or loads) at once.
 * When work is not allowed at all (consent revoked, outside the hours, idle-only on a busy machine)
 * nothing waits: every lease is requeued at once and every swarmlet killed, so the owner gets the
 * machine back now and other agents take the work immediately.
 *
 * Stateful task types (agent-state.ts): a swarmlet leaving one (retired, specialized away, the agent
 * stopping, consent revoked) saves its state to `P:state:<type>` first; a swarmlet starting to
 * serve one restores it from there.
 *
 * Every state change runs one at a time on one promise chain (`serial`), so broker calls and
 * swarmlet events never interleave. Timers: the heartbeat, and a short poll that lets idle
 * swarmlets find work the director enqueued since.
 */
import { wallEnvironment } from '../local/wall-environment.js';
import { mkdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { WarningLimiter } from '../../core/warning-limiter.js';
import type { NodeAdvertisement, NodeAdvertisementInput } from '../../place/node-probe.js';
import { BullmqBroker } from '../brokers/bullmq-broker.js';
import type { MonitorSample, WireResult } from '../local/ipc.js';
import { ProcessProvider, swarmletHostPath } from '../local/process-provider.js';
import { nodeModulesAbove } from '../local/sandbox.js';
import type { ProviderEvents } from '../provider.js';
import { TaskLogBook, taskLogLine } from '../task-log-book.js';
import {
  buildAdvertisement,
  consentCaps,
  DEFAULT_SWARMLET_MEMORY_MB,
  describeNode,
  machineIdle,
  resolveAgentConfig,
  swarmletCap,
  utcOffsetMinutesAt,
  workAllowed,
  type AgentConfig,
  type ClusterAgentOptions,
} from './agent-config.js';
import { ModuleCache, type BundleRefusedError } from './agent-modules.js';
import { AgentPool, Announcer } from './agent-pool.js';
import { AgentStates } from './agent-state.js';
import { planReconcile, type LocalSwarmlet } from './agent-swarmlets.js';
import { AgentWork } from './agent-work.js';
import { desiredStateSchema, keys, parseStored, type DesiredState, type Heartbeat } from './protocol.js';
import { connectRedis, redactUrl, redisConnectionOptions } from './redis-connect.js';
import { TaskLogShipper } from './task-log-shipper.js';

export type { ClusterAgentOptions } from './agent-config.js';

const MONITOR_INTERVAL_MS = 250;
/** Within this process only (swarmlet load times, the Redis round trip): steady, unlike the epoch clock. */
const monotonic = wallEnvironment.clock;

/**
 * A refused bundle is told to the director again at most this often while the director still wants
 * its type here (it withdraws the type once told, and asks again for a new job of the type): often
 * enough that such a job hears within about this long, rarely enough not to flood the log.
 */
const REFUSAL_REPEAT_MS = 2_000;
/** How long a stopping agent waits to ship the last printed lines (Redis may be gone). */
const SHIP_ON_STOP_MS = 1_000;

export class ClusterAgent implements ProviderEvents {
  private readonly keys: ReturnType<typeof keys>;
  private readonly provider: ProcessProvider;
  private readonly work: AgentWork;
  private readonly pool: AgentPool;
  private readonly announcer: Announcer;
  private readonly states: AgentStates;
  private readonly warnings: WarningLimiter;
  private serial: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private pumpQueued = false;
  private cancels: (() => void)[] = [];
  private idle = false;
  private revoked = false;
  /** Work is allowed right now (consent, hours, idle-only); set by each reconcile. */
  private allowed = true;
  private closed = false;
  private stopping: Promise<void> | undefined;
  /** A flush of staged results is queued, and the swarmlets whose results it carries. */
  private flushQueued = false;
  private readonly emptied = new Set<LocalSwarmlet>();
  /** Round trip to Redis measured at the last heartbeat (the director's latency probe). */
  private rttMs: number | undefined;
  private beating = false;
  /** Heartbeats and checkpoints under way (outside the serial chain): stop waits for them before it leaves. */
  private readonly background = new Set<Promise<void>>();
  private lastAdvertisement: NodeAdvertisement;
  /** When each refusal (type, hash, reason) was last told to the director. */
  private readonly refusalsToldAtMs = new Map<string, number>();
  /** Heartbeats written and reconciles done (for status displays and tests). */
  beats = 0;
  /** What this node's swarmlets printed, bounded, by the director's swarmlet ids (also shipped to Redis: `shipper`). */
  readonly taskLogs = new TaskLogBook();
  /** Sends what swarmlets print to Redis for the director's API (task-log-shipper.ts). */
  readonly shipper: TaskLogShipper;
  reconciles = 0;

  private constructor(
    private readonly config: AgentConfig,
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly broker: BullmqBroker,
  ) {
    this.keys = keys(config.prefix);
    this.announcer = new Announcer(config.logger);
    this.warnings = new WarningLimiter(config.clock, config.warningIntervalMs, (line, fields) =>
      config.logger.warn(fields, line),
    );
    this.shipper = new TaskLogShipper({
      redis,
      keys: this.keys,
      timers: config.environment.timers,
      warn: (topic, line) => this.warnings.warn(topic, line, { topic: 'task logs' }),
    });
    const modules = new ModuleCache(redis, config.prefix, config.cacheDir, config.trust);
    mkdirSync(config.cacheDir, { recursive: true }); // bound into a sandbox at each start, so it must exist
    this.provider = new ProcessProvider(
      this,
      { clock: monotonic, timers: config.environment.timers },
      {
        monitorIntervalMs: MONITOR_INTERVAL_MS,
        // Task code reads its bundles (the cache) and the packages they import, nothing else of this machine.
        sandbox: { kind: config.sandbox, readPaths: [config.cacheDir, ...nodeModulesAbove(config.cacheDir)] },
        permissionsOf: (taskType) => modules.permissionsOf(taskType),
        caps: consentCaps(config),
      },
    );
    this.work = new AgentWork({
      clock: config.environment.clock,
      broker,
      redis,
      provider: this.provider,
      nodeId: config.nodeId,
      logKey: this.keys.log,
      hintDurationMs: (type) => modules.hintDurationMs(type),
    });
    this.states = new AgentStates({
      environment: config.environment,
      redis,
      prefix: config.prefix,
      nodeId: config.nodeId,
      provider: this.provider,
      logger: config.logger,
      warn: (topic, line, fields) => this.warnings.warn(topic, `warning: ${line}`, fields),
    });
    this.pool = new AgentPool({
      clock: config.environment.clock,
      provider: this.provider,
      modules,
      work: this.work,
      drainTimeoutMs: config.drainTimeoutMs,
      moduleKey: (type) => this.keys.module(type),
      logger: config.logger,
      announcer: this.announcer,
      states: this.states,
      refused: (refusal) => this.tellRefusal(refusal),
      afterSave: (work) => {
        this.run('state', async () => {
          if (this.closed) return;
          await work();
          await this.pump();
        });
        this.scheduleReconcile(); // a start of the type that waited for this handover
      },
    });
    this.lastAdvertisement = this.advertise().parsed;
  }

  /**
   * Validates the options (a bad one is an InputError naming it), connects, and joins: first heartbeat and reconcile
   * before it resolves.
   */
  static async start(options: ClusterAgentOptions): Promise<ClusterAgent> {
    const config = resolveAgentConfig(options);
    buildAdvertisement(config, {
      consentGranted: true,
      idle: false,
      warmTaskTypes: [],
      inUse: { cpu: 0, memoryMb: 0 },
      utcOffsetMinutes: 0,
    });
    swarmletHostPath(); // fails with the fix (npm run build) before anything connects
    // later errors: the command that meets one reports it
    const redis = await connectRedis(
      config.redisUrl,
      () => undefined,
      'redis',
      config.redisTls,
      config.environment.timers,
    );
    const subscriber = redis.duplicate();
    const late: { agent?: ClusterAgent } = {}; // the broker is made before the agent that answers its prefetch
    const broker = new BullmqBroker({
      url: config.redisUrl,
      connection: redisConnectionOptions(config.redisTls),
      prefix: keys(config.prefix).queuePrefix,
      lockDurationMs: config.ttlMs,
      // Completions fetch ahead what the type's serving swarmlets take at a time: no round trip to refill them, nothing
      // held idle.
      prefetch: (taskType) => late.agent?.work.depthOf(taskType, late.agent.pool.live) ?? 0,
      onBackgroundError: (error) => config.logger.warn({ topic: 'broker' }, `warning: broker: ${error.message}`),
      environment: config.environment,
    });
    const agent = (late.agent = new ClusterAgent(config, redis, subscriber, broker));
    try {
      await agent.join();
    } catch (error) {
      await agent.stop().catch(() => undefined);
      throw error;
    }
    return agent;
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  /** What the last heartbeat advertised, parsed. */
  get advertisement(): NodeAdvertisement {
    return this.lastAdvertisement;
  }

  private async join(): Promise<void> {
    this.subscriber.on('error', (error: Error) => this.warn('pub/sub', error));
    this.subscriber.on('message', (_channel: string, message: string) => {
      if (message === this.config.nodeId || message === '*') this.scheduleReconcile();
    });
    await this.subscriber.subscribe(this.keys.desiredChanged);
    this.config.logger.info(
      { prefix: this.config.prefix, kind: this.config.kind },
      `agent ${this.config.nodeId} joined ${redactUrl(this.config.redisUrl)} (prefix ${this.config.prefix}): ${describeNode(this.lastAdvertisement)}`,
    );
    const caps = consentCaps(this.config);
    const held = this.provider.capEnforcement;
    if (held.cpu !== undefined || held.memory !== undefined)
      this.config.logger.info(
        {},
        `consent caps held on what swarmlets use: ${[
          ...(held.cpu ? [`cpu ${Number(caps.cpuCores!.toFixed(3))} cores by ${capHow(held.cpu)}`] : []),
          ...(held.memory ? [`memory ${caps.memoryMb} MB by ${capHow(held.memory)}`] : []),
        ].join(', ')}`,
      );
    await this.beat();
    await this.serial;
    const { timers } = this.config.environment;
    this.cancels = [
      timers.every(this.config.heartbeatMs, () => this.inBackground(this.beat())),
      timers.every(this.config.pollMs, () => this.poll()),
    ];
    // Outside the serial chain: a snapshot waits for the swarmlet's queued work, and the chain must keep feeding it.
    if (this.config.checkpointMs > 0)
      this.cancels.push(timers.every(this.config.checkpointMs, () => this.inBackground(this.pool.checkpoint())));
  }

  /** Work nobody awaits (it never rejects), kept until it settles so stop can wait for it. */
  private inBackground(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** The heartbeat as it is written to Redis. */
  status(): Heartbeat {
    const nowMs = this.config.environment.clock.nowMs();
    return {
      advertisement: this.advertise().raw,
      atMs: nowMs,
      idle: this.idle,
      swarmlets: this.pool.live.map((s) => s.status(nowMs)),
      completed: this.work.completed,
      failed: this.work.failed,
      ...(this.rttMs !== undefined && { rttMs: this.rttMs }),
    };
  }

  /**
   * The owner takes the machine back: every lease is requeued at once (other agents take them
   * immediately), every swarmlet is killed, the next heartbeat (sent now) says consent is not
   * granted, and no more work is taken. Results that still arrive are dropped: their leases were given back.
   */
  async revokeConsent(): Promise<void> {
    if (this.revoked || this.closed) return;
    this.revoked = true;
    this.allowed = false;
    await this.enqueue(() => this.halt('consent revoked by the owner'));
    await this.beat();
  }

  /** States written to `P:state:<type>` by this agent (for status displays and tests). */
  get statesSaved(): number {
    return this.states.saves;
  }

  /**
   * Graceful leave: stateful swarmlets save their state, leases requeued, swarmlets stopped, the node key deleted,
   * connections closed.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    for (const cancel of this.cancels) cancel();
    const errors: unknown[] = [];
    const attempt = (step: () => Promise<unknown>) => step().catch((error: unknown) => void errors.push(error));
    await attempt(() => this.subscriber.quit());
    await this.enqueue(async () => {
      this.closed = true;
      await attempt(() => this.work.flush());
      const saves = this.pool.saveAll(); // asks now, before the leases go back (their queued micro-tasks are skipped)
      await attempt(() => this.work.requeueAll(this.pool.live));
      await saves;
    });
    // A heartbeat under way would write the node back after its keys are deleted, or behind QUIT (Redis then resets
    // the connection, which can drop QUIT's own reply).
    await Promise.all(this.background);
    await this.provider.stopAll();
    await attempt(() => this.shipper.stop(SHIP_ON_STOP_MS)); // the last lines printed, not waiting on a Redis gone
    await attempt(() =>
      this.redis.multi().del(this.keys.node(this.config.nodeId)).srem(this.keys.nodes, this.config.nodeId).exec(),
    );
    await attempt(() => this.broker.close());
    await attempt(() => this.redis.quit());
    if (errors.length > 0)
      throw new AggregateError(errors, `agent ${this.config.nodeId}: ${errors.length} step(s) of stop failed`);
  }

  // ── heartbeat and reconcile ─────────────────────────────────────────────

  private async beat(): Promise<void> {
    if (this.beating || this.closed) return;
    this.beating = true;
    this.warnings.flush();
    try {
      this.idle = machineIdle(this.config.loadPerCore());
      const pingedAt = monotonic.nowMs();
      await this.redis.ping();
      this.rttMs = monotonic.nowMs() - pingedAt;
      const heartbeat = this.status();
      this.lastAdvertisement = this.advertise().parsed;
      const replies = await this.redis
        .multi()
        .set(this.keys.node(this.config.nodeId), JSON.stringify(heartbeat), 'PX', this.config.ttlMs)
        .sadd(this.keys.nodes, this.config.nodeId)
        .exec();
      // EXEC answers each command's error instead of throwing (a node set of the wrong type: the director repairs it).
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
      this.beats += 1;
    } catch (error) {
      this.warn('heartbeat', error);
    } finally {
      this.beating = false;
    }
    this.scheduleReconcile();
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    this.reconciles += 1;
    const verdict = this.revoked
      ? { ok: false as const, reason: 'consent revoked by the owner' }
      : workAllowed(this.lastAdvertisement, this.config.environment.clock.nowMs());
    if (!verdict.ok) return this.halt(verdict.reason);
    if (!this.allowed) this.config.logger.info({}, 'consent: work allowed again');
    this.allowed = true;
    this.announcer.say('consent', '');
    const desired = await this.readDesired();
    if (desired === undefined) return;
    const cap = swarmletCap(this.lastAdvertisement, this.pool.swarmletMemoryMb());
    const plan = planReconcile(desired, this.pool.live, cap);
    await this.pool.apply(plan, (id) => desired.reasons[id] ?? `desired (version ${desired.version})`);
    this.announcer.say(
      'cap',
      plan.capped.length === 0
        ? ''
        : `${plan.capped.join(', ')}: not run: over the consent cap of ${cap.count} (${cap.limit})`,
    );
    await this.pump();
  }

  /** The desired state; none written yet means none wanted. Undefined when unreadable: keep what runs. */
  private async readDesired(): Promise<DesiredState | undefined> {
    const key = this.keys.desired(this.config.nodeId);
    try {
      const desired = parseStored(desiredStateSchema, await this.redis.get(key), key) ?? {
        version: 0,
        swarmlets: [],
        reasons: {},
      };
      return desired;
    } catch (error) {
      this.warnings.warn(
        key,
        `warning: ${messageOf(error)}: keeping the current swarmlets until the director writes a valid desired state`,
      );
      return undefined;
    }
  }

  private async halt(reason: string): Promise<void> {
    this.allowed = false;
    this.announcer.say('consent', `consent: not working now: ${reason}`);
    await this.pool.halt(reason);
  }

  // ── work ────────────────────────────────────────────────────────────────

  private poll(): void {
    if (this.pumpQueued || this.closed || !this.allowed) return;
    if (this.pool.live.some((swarmlet) => this.work.roomOf(swarmlet) > 0)) this.schedulePump();
  }

  private async pump(): Promise<void> {
    if (this.closed || !this.allowed) return;
    await this.work.pump(this.pool.live);
    // Fetched ahead for a type no swarmlet here serves any more (stopped, specialized): back at once.
    await this.broker.returnAhead((taskType) => this.work.depthOf(taskType, this.pool.live) > 0);
  }

  // ── provider events ─────────────────────────────────────────────────────

  printed(processId: string, _atMs: number, text: string): void {
    const swarmlet = this.pool.swarmlets.get(processId);
    const line = taskLogLine(
      this.config.environment.clock.nowMs(), // epoch time, as the director's
      swarmlet?.id ?? processId,
      text,
      (label) => (swarmlet ? this.work.jobKeyOf(swarmlet, label) : undefined),
    );
    this.taskLogs.keep(line);
    this.shipper.add(line);
  }

  up(processId: string): void {
    const swarmlet = this.pool.swarmlets.get(processId);
    if (swarmlet?.state === 'starting') swarmlet.transition('warming');
  }

  ready(
    processId: string,
    taskType: string,
    _atMs: number,
    _loadMs: number,
    activated: boolean,
    stateful: boolean,
  ): void {
    this.run('ready', async () => {
      const swarmlet = this.pool.swarmlets.get(processId);
      if (swarmlet && !this.closed && (await this.pool.ready(swarmlet, taskType, activated, stateful)))
        await this.pump();
    });
  }

  // Answers go straight to the waiting save (not through the serial chain, which may be waiting for them).
  state(processId: string, taskType: string, _atMs: number, state: unknown): void {
    this.states.answered(processId, taskType, { state });
  }

  stateFailed(processId: string, taskType: string, _atMs: number, message: string): void {
    this.states.answered(processId, taskType, { message });
  }

  loadFailed(processId: string, taskType: string, _atMs: number, message: string): void {
    this.run('load', () => {
      const swarmlet = this.pool.swarmlets.get(processId);
      if (swarmlet && !this.closed) this.pool.loadFailed(swarmlet, taskType, message);
    });
  }

  /**
   * Results are staged at once (their leases end in memory) and written by one queued flush: while
   * a write is on its way, later batches pile up and go out together in the next one.
   */
  results(processId: string, results: WireResult[]): void {
    const swarmlet = this.pool.swarmlets.get(processId);
    if (!swarmlet || this.closed) return;
    this.work.stage(swarmlet, results);
    this.emptied.add(swarmlet);
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.run('results', async () => {
      this.flushQueued = false;
      const emptied = [...this.emptied];
      this.emptied.clear();
      if (this.closed) return;
      await this.work.flush();
      for (const each of emptied) await this.pool.afterWork(each);
      await this.pump();
    });
  }

  sample(processId: string, sample: MonitorSample): void {
    const swarmlet = this.pool.swarmlets.get(processId);
    if (!swarmlet) return;
    swarmlet.rssMb = sample.rssMb;
    swarmlet.cpuPercent = sample.cpuPercent;
  }

  exited(processId: string, _atMs: number, detail: string, lastStarted?: number | null): void {
    this.states.gone(processId);
    this.run('exit', async () => {
      const swarmlet = this.pool.swarmlets.get(processId);
      if (!swarmlet || this.closed) return;
      await this.pool.exited(swarmlet, detail, lastStarted);
      this.scheduleReconcile(); // still desired: started again; a replacement that waited for its slot starts now
    });
  }

  // ── helpers ─────────────────────────────────────────────────────────────

  /**
   * A refused bundle goes to the log (the director places the type elsewhere, and fails the jobs that need it once
   * every live agent refused it: bundle-refusals.ts) and this agent's log.
   */
  private async tellRefusal(refusal: BundleRefusedError): Promise<void> {
    const topic = `${refusal.taskType}\n${refusal.hash}\n${refusal.reason}`;
    const nowMs = monotonic.nowMs();
    const toldAtMs = this.refusalsToldAtMs.get(topic);
    if (toldAtMs !== undefined && nowMs - toldAtMs < REFUSAL_REPEAT_MS) return;
    this.refusalsToldAtMs.set(topic, nowMs);
    if (toldAtMs === undefined)
      this.config.logger.warn({ taskType: refusal.taskType, hash: refusal.hash }, `refused: ${refusal.message}`);
    const { taskType, hash, reason } = refusal;
    const entry = {
      kind: 'refusal',
      nodeId: this.config.nodeId,
      taskType,
      hash,
      reason: `${reason}. Fix: ${refusal.fix}`,
    };
    await this.redis.xadd(this.keys.log, '*', 'e', JSON.stringify(entry));
  }

  private advertise(): { raw: NodeAdvertisementInput; parsed: NodeAdvertisement } {
    const live = this.pool.live;
    return buildAdvertisement(this.config, {
      consentGranted: !this.revoked,
      idle: this.idle,
      warmTaskTypes: [...new Set(live.flatMap((s) => [...s.warmTypes]))].sort(),
      inUse: { cpu: live.length, memoryMb: live.reduce((sum, s) => sum + (s.rssMb ?? DEFAULT_SWARMLET_MEMORY_MB), 0) },
      utcOffsetMinutes: utcOffsetMinutesAt(this.config.environment.clock.nowMs()),
    });
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    this.run('reconcile', () => {
      this.reconcileQueued = false;
      return this.reconcile();
    });
  }

  private schedulePump(): void {
    this.pumpQueued = true;
    this.run('pump', () => {
      this.pumpQueued = false;
      return this.pump();
    });
  }

  /** Runs `work` after everything queued before it; a failure is reported and the chain goes on. */
  private run(topic: string, work: () => Promise<void> | void): void {
    this.serial = this.serial.then(work).catch((error: unknown) => this.warn(topic, error));
  }

  private enqueue(work: () => Promise<void> | void): Promise<void> {
    this.run('agent', work);
    return this.serial;
  }

  /** Repeated failures (Redis down: every heartbeat) are said once per warning interval, then their count. */
  private warn(topic: string, error: unknown): void {
    this.warnings.warn(`warning:${topic}`, `warning: ${topic}: ${messageOf(error)}`, { topic });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** How a cap is held, in words for the agent's log. */
function capHow(enforcement: string): string {
  if (enforcement === 'sigstop-throttle') return 'measuring /proc and pausing them (SIGSTOP/SIGCONT)';
  if (enforcement === 'proc-sampling') return 'measuring /proc and stopping the biggest';
  return `the kernel (${enforcement})`;
}
