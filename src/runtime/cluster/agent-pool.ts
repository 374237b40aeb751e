/**
 * The agent's local swarmlets and how a reconcile plan is carried out on them: start, specialize
 * (same process, new module), retire (drain, then stop), halt (everything at once). Also what the
 * provider's events do to them. Called only from the agent's serial chain, so nothing interleaves.
 *
 * A desired id (`s3`) may be served by several processes over time (`s3#1`, then `s3#4` after a
 * crash): the provider's id is the process id, so a late event of an old process never touches the
 * new one.
 *
 * Stateful types (agent-state.ts): a swarmlet leaving one saves its state to Redis first, once it
 * holds no micro-task; a swarmlet starting to serve one restores it.
 */
import type { Clock } from '../../core/clock.js';
import type { LogFields, Logger } from '../../core/logger.js';
import { BundleRefusedError, type LocalModule, type ModuleCache } from './agent-modules.js';
import type { AgentStates } from './agent-state.js';
import { LocalSwarmlet, type ReconcilePlan } from './agent-swarmlets.js';
import type { AgentWork } from './agent-work.js';
import type { Provider } from '../provider.js';
import { DEFAULT_SWARMLET_MEMORY_MB } from './agent-config.js';

/** A type whose module failed to load is not tried again with the same bundle for this long. */
const LOAD_RETRY_MS = 10_000;
/** When work stops being allowed, swarmlets get this long to hand their state over before they are killed. */
const HALT_STATE_TIMEOUT_MS = 1_000;

/**
 * Says a line for a topic only when it differs from the last one said for it ('' clears it): a condition seen every
 * heartbeat is logged once.
 */
export class Announcer {
  private readonly said = new Map<string, string>();
  constructor(private readonly logger: Logger) {}

  say(topic: string, line: string, fields: LogFields = {}): void {
    if (this.said.get(topic) === line) return;
    this.said.set(topic, line);
    if (line !== '') this.logger.info(fields, line);
  }
}

export interface AgentPoolOptions {
  /** The agent's (epoch) clock: drain deadlines and load retries. */
  readonly clock: Clock;
  readonly provider: Provider;
  readonly modules: ModuleCache;
  readonly work: AgentWork;
  readonly drainTimeoutMs: number;
  readonly moduleKey: (taskType: string) => string;
  readonly logger: Logger;
  readonly announcer: Announcer;
  readonly states: AgentStates;
  /** Runs `work` on the agent's serial chain (then reconciles): what waited for a state to be saved goes on. */
  readonly afterSave: (work: () => Promise<void>) => void;
  /** A bundle this agent will not run: told to the director, whose jobs that need it fail with the reason. */
  readonly refused: (refusal: BundleRefusedError) => Promise<void>;
}

export class AgentPool {
  /** By process id. */
  readonly swarmlets = new Map<string, LocalSwarmlet>();
  private readonly loadFailures = new Map<string, { hash: string; untilMs: number }>();
  private processes = 0;

  constructor(private readonly options: AgentPoolOptions) {}

  get live(): LocalSwarmlet[] {
    return [...this.swarmlets.values()];
  }

  /** Measured resident memory of a swarmlet here (mean of those reporting), else the default assumption. */
  swarmletMemoryMb(): number {
    const measured = this.live.flatMap((s) => (s.rssMb === undefined ? [] : [s.rssMb]));
    return measured.length === 0 ? DEFAULT_SWARMLET_MEMORY_MB : measured.reduce((a, b) => a + b, 0) / measured.length;
  }

  async apply(plan: ReconcilePlan, reasonOf: (id: string) => string): Promise<void> {
    await this.expireDrains();
    for (const { swarmlet, reason } of plan.retire) this.retire(swarmlet, reason);
    for (const { swarmlet, taskType } of plan.specialize)
      await this.specialize(swarmlet, taskType, reasonOf(swarmlet.id));
    for (const { id, taskType } of plan.start) await this.start(id, taskType, reasonOf(id));
    // Specializations that waited (for a state handover here, or an unreadable state) try again.
    for (const swarmlet of this.live)
      if (swarmlet.pending !== undefined && swarmlet.state === 'idle' && swarmlet.inFlight.size === 0)
        await this.load(swarmlet);
  }

  /**
   * Work is not allowed now: every lease back to its queue and every swarmlet killed, at once (after
   * stateful ones handed their state over, bounded by HALT_STATE_TIMEOUT_MS).
   */
  async halt(reason: string): Promise<void> {
    const saves = this.saveNow(HALT_STATE_TIMEOUT_MS);
    const requeued = await this.options.work.requeueAll(this.swarmlets.values());
    await saves;
    const running = this.live.filter((s) => s.stopReason === undefined);
    for (const swarmlet of this.live) {
      swarmlet.stopReason ??= reason;
      swarmlet.killed = true;
      this.options.provider.kill(swarmlet.processId, reason);
    }
    if (requeued > 0 || running.length > 0)
      this.options.logger.info(
        { swarmlets: running.length, requeued },
        `stopped ${running.length} swarmlet(s) and requeued ${requeued} micro-task(s): ${reason}`,
      );
  }

  /**
   * The agent leaves: every stateful swarmlet saves its state now, bounded. Sends the requests at
   * once (call it before the leases are given back); resolves when saved or given up.
   */
  saveAll(): Promise<void> {
    return this.saveNow();
  }

  /**
   * A checkpoint: each serving stateful swarmlet that ran micro-tasks since its last one writes its
   * state while it keeps working. Nothing is dropped, and its handover flag (`stateSaved`) is left
   * alone: work dispatched meanwhile may be missing from the snapshot. Never rejects.
   */
  async checkpoint(): Promise<void> {
    const due = this.live.filter(
      (s) => s.serving && s.stateful && !s.killed && !s.checkpointing && s.tasksDone > s.tasksAtCheckpoint,
    );
    await Promise.all(
      due.map(async (swarmlet) => {
        const done = swarmlet.tasksDone;
        swarmlet.checkpointing = true;
        await this.options.states.save(swarmlet);
        swarmlet.checkpointing = false;
        swarmlet.tasksAtCheckpoint = done;
      }),
    );
  }

  /**
   * Saves the state of every stateful swarmlet with something new; their queued micro-tasks are skipped (the leases go
   * back).
   */
  private async saveNow(timeoutMs?: number): Promise<void> {
    const saving = this.live.filter((s) => s.saving !== undefined || (s.stateful && !s.stateSaved && !s.killed));
    for (const swarmlet of saving)
      if (swarmlet.saving === undefined && swarmlet.inFlight.size > 0)
        this.options.provider.drop(swarmlet.processId, [...swarmlet.inFlight]);
    await Promise.all(saving.map((swarmlet) => this.save(swarmlet, timeoutMs)));
  }

  private save(swarmlet: LocalSwarmlet, timeoutMs?: number): Promise<void> {
    swarmlet.saving ??= this.options.states.save(swarmlet, timeoutMs).then(() => {
      swarmlet.saving = undefined;
      swarmlet.stateSaved = true;
    });
    return swarmlet.saving;
  }

  /** A stateful swarmlet about to leave its type saves its state first (once); true while that is under way. */
  private savingFirst(swarmlet: LocalSwarmlet): boolean {
    if (swarmlet.saving !== undefined) return true;
    if (!swarmlet.stateful || swarmlet.stateSaved) return false;
    void this.save(swarmlet).then(() =>
      this.options.afterSave(async () => {
        if (this.swarmlets.get(swarmlet.processId) === swarmlet && !swarmlet.killed) await this.afterWork(swarmlet);
      }),
    );
    return true;
  }

  /**
   * A swarmlet here that is leaving the type and has not saved its state yet: a new server of the type waits for it.
   */
  private handingOver(taskType: string): LocalSwarmlet | undefined {
    return this.live.find((s) => s.stateful && s.taskType === taskType && !s.serving && !s.stateSaved && !s.killed);
  }

  /** The type's saved state for a swarmlet about to serve it; undefined while it must wait (said once). */
  private async stateFor(id: string, taskType: string, hash: string): Promise<{ readonly state: unknown } | undefined> {
    const topic = `${id}:state`;
    const other = this.handingOver(taskType);
    if (other !== undefined) {
      this.options.announcer.say(topic, `${id}: waiting for ${other.id} to save the state of ${taskType}`, {
        swarmletId: id,
        taskType,
      });
      return undefined;
    }
    try {
      const stored = await this.options.states.read(taskType, hash);
      this.options.announcer.say(topic, '');
      return stored;
    } catch (error) {
      this.options.announcer.say(
        topic,
        `${id}: waiting: saved state of ${taskType} unusable: ${error instanceof Error ? error.message : String(error)}. Fix: repair or delete that key (the type then starts with no state)`,
        { swarmletId: id, taskType },
      );
      return undefined;
    }
  }

  private async start(id: string, taskType: string, reason: string): Promise<void> {
    const module = await this.moduleFor(id, taskType);
    if (module === undefined) return;
    const stored = await this.stateFor(id, taskType, module.hash);
    if (stored === undefined) return;
    const swarmlet = new LocalSwarmlet(id, `${id}#${++this.processes}`, taskType, module.hash);
    this.swarmlets.set(swarmlet.processId, swarmlet);
    this.options.provider.start(swarmlet.processId, taskType, module.modulePath, stored.state);
    this.options.logger.info(
      { swarmletId: id, taskType, hash: module.hash },
      `${id}: started (${module.hash}) for ${taskType}${stored.state === undefined ? '' : ' with its saved state'}: ${reason}`,
    );
  }

  private async specialize(swarmlet: LocalSwarmlet, taskType: string, reason: string): Promise<void> {
    if (taskType === swarmlet.taskType) {
      swarmlet.pending = undefined; // desired back to what it serves: nothing to load
      swarmlet.drainDeadlineMs = undefined;
      return;
    }
    const module = await this.moduleFor(swarmlet.id, taskType);
    if (module === undefined) return;
    swarmlet.pending = { taskType, hash: module.hash, modulePath: module.modulePath, reason };
    if (swarmlet.state === 'idle' && swarmlet.inFlight.size === 0) return await this.load(swarmlet);
    if (swarmlet.inFlight.size > 0) swarmlet.drainDeadlineMs = this.options.clock.nowMs() + this.options.drainTimeoutMs;
    this.options.logger.info(
      { swarmletId: swarmlet.id, taskType, from: swarmlet.taskType },
      `${swarmlet.id}: will specialize from ${swarmlet.taskType} to ${taskType} once its ${swarmlet.inFlight.size} micro-task(s) in flight finish: ${reason}`,
    );
  }

  /**
   * Carries out a pending specialization on an emptied swarmlet: same process, new module, the new
   * type's saved state. Stays pending while a state is being saved (its own, or another local
   * swarmlet's of the new type) or cannot be read; the next reconcile tries again.
   */
  private async load(swarmlet: LocalSwarmlet): Promise<void> {
    const pending = swarmlet.pending!;
    if (this.savingFirst(swarmlet)) return;
    const stored = await this.stateFor(swarmlet.id, pending.taskType, pending.hash);
    if (stored === undefined || swarmlet.pending !== pending || swarmlet.state !== 'idle') return;
    const from = swarmlet.taskType;
    swarmlet.transition('warming');
    swarmlet.taskType = pending.taskType;
    swarmlet.hash = pending.hash;
    swarmlet.pending = undefined;
    swarmlet.drainDeadlineMs = undefined;
    swarmlet.stateful = false; // until the new type's `ready` says
    this.options.provider.load(swarmlet.processId, pending.taskType, pending.modulePath, true, stored.state);
    this.options.logger.info(
      { swarmletId: swarmlet.id, taskType: pending.taskType, from, hash: pending.hash },
      `${swarmlet.id}: specialized (${pending.hash}) from ${from} to ${pending.taskType}${stored.state === undefined ? '' : ' with its saved state'}: ${pending.reason}`,
    );
  }

  /** A retired swarmlet with nothing in flight stops, a stateful one once its state is saved. */
  private finish(swarmlet: LocalSwarmlet): void {
    if (!this.savingFirst(swarmlet)) this.options.provider.stop(swarmlet.processId);
  }

  private retire(swarmlet: LocalSwarmlet, reason: string): void {
    swarmlet.stopReason = reason;
    swarmlet.pending = undefined;
    if (swarmlet.state === 'idle' || swarmlet.state === 'busy') swarmlet.transition('draining');
    const held = swarmlet.inFlight.size;
    if (held === 0) this.finish(swarmlet);
    else swarmlet.drainDeadlineMs = this.options.clock.nowMs() + this.options.drainTimeoutMs;
    this.options.logger.info(
      { swarmletId: swarmlet.id, taskType: swarmlet.taskType },
      `${swarmlet.id}: stopping (${reason})${held > 0 ? ` after its ${held} micro-task(s) in flight` : ''}`,
    );
  }

  /** Drains past their deadline: the rest is requeued (no attempt counted) and the stop or load goes ahead. */
  private async expireDrains(): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    for (const swarmlet of this.live) {
      if (swarmlet.drainDeadlineMs === undefined || swarmlet.drainDeadlineMs > nowMs) continue;
      const requeued = await this.options.work.giveBack(swarmlet);
      this.options.logger.warn(
        { swarmletId: swarmlet.id, taskType: swarmlet.taskType, requeued },
        `${swarmlet.id}: waited ${this.options.drainTimeoutMs} ms for its work in flight: requeued ${requeued} micro-task(s)`,
      );
      await this.afterWork(swarmlet);
    }
  }

  /** The type's bundle on disk, or undefined (said once) while it is missing, malformed or failed to load recently. */
  private async moduleFor(id: string, taskType: string): Promise<LocalModule | undefined> {
    const { announcer } = this.options;
    let module: LocalModule | undefined;
    try {
      module = await this.options.modules.fetch(taskType);
    } catch (error) {
      if (error instanceof BundleRefusedError) {
        announcer.say(id, `${id}: not started: ${error.message}`, { swarmletId: id, taskType });
        await this.options.refused(error);
        return undefined;
      }
      announcer.say(
        id,
        `${id}: waiting: module of ${taskType} unusable: ${error instanceof Error ? error.message : String(error)}`,
        { swarmletId: id, taskType },
      );
      return undefined;
    }
    if (module === undefined) {
      announcer.say(id, `${id}: waiting: no module published for ${taskType} (${this.options.moduleKey(taskType)})`, {
        swarmletId: id,
        taskType,
      });
      return undefined;
    }
    const failure = this.loadFailures.get(taskType);
    if (failure !== undefined && failure.hash === module.hash && this.options.clock.nowMs() < failure.untilMs)
      return undefined;
    announcer.say(id, '');
    return module;
  }

  /** After results: an emptied swarmlet goes idle, or carries out the stop or specialization that waited for it. */
  async afterWork(swarmlet: LocalSwarmlet): Promise<void> {
    if (swarmlet.inFlight.size > 0 || swarmlet.state === 'stopped') return;
    swarmlet.drainDeadlineMs = undefined;
    if (swarmlet.state === 'busy') swarmlet.transition('idle');
    if (swarmlet.state === 'draining') this.finish(swarmlet);
    else if (swarmlet.pending !== undefined && swarmlet.state === 'idle') await this.load(swarmlet);
  }

  // ── provider events ─────────────────────────────────────────────────────

  /** A load finished; true when the swarmlet now serves and may take work. */
  async ready(swarmlet: LocalSwarmlet, taskType: string, activated: boolean, stateful: boolean): Promise<boolean> {
    swarmlet.warmTypes.add(taskType);
    if (!activated || taskType !== swarmlet.taskType) return false;
    if (swarmlet.state === 'starting') swarmlet.transition('warming');
    if (swarmlet.state !== 'warming') return false;
    swarmlet.stateful = stateful;
    swarmlet.stateSaved = true; // it holds the state it restored: nothing new to save until it gets work
    this.options.states.noteModule(swarmlet.hash, stateful);
    swarmlet.transition('idle');
    if (swarmlet.stopReason !== undefined) {
      swarmlet.transition('draining'); // retired while it loaded: already told to stop
      this.options.provider.stop(swarmlet.processId);
    } else if (swarmlet.pending !== undefined) {
      await this.load(swarmlet);
    }
    return swarmlet.serving;
  }

  loadFailed(swarmlet: LocalSwarmlet, taskType: string, message: string): void {
    this.loadFailures.set(taskType, { hash: swarmlet.hash, untilMs: this.options.clock.nowMs() + LOAD_RETRY_MS });
    this.options.logger.warn(
      { swarmletId: swarmlet.id, taskType, hash: swarmlet.hash },
      `${swarmlet.id}: loading ${taskType} (${swarmlet.hash}) failed: ${message}; trying again in ${LOAD_RETRY_MS / 1000} s`,
    );
    swarmlet.stopReason = `load of ${taskType} failed`;
    this.options.provider.stop(swarmlet.processId);
  }

  /**
   * The process is gone: the micro-task it was running failed (an attempt counted), those queued behind it go back
   * free, unless their leases were given back already.
   */
  async exited(swarmlet: LocalSwarmlet, detail: string, lastStarted?: number | null): Promise<void> {
    this.swarmlets.delete(swarmlet.processId);
    const message = `swarmlet ${swarmlet.id} ${detail} while running it`;
    const failed = await this.options.work.orphaned(swarmlet, message, lastStarted);
    swarmlet.transition('stopped');
    if (swarmlet.stopReason === undefined || failed > 0) {
      this.options.logger.warn(
        { swarmletId: swarmlet.id, taskType: swarmlet.taskType, failed },
        `${swarmlet.id}: exited unexpectedly (${detail})${failed > 0 ? `: ${failed} micro-task(s) failed` : ''}`,
      );
    } else {
      this.options.logger.info(
        { swarmletId: swarmlet.id, taskType: swarmlet.taskType },
        `${swarmlet.id}: stopped (${swarmlet.stopReason})`,
      );
    }
  }
}
