/**
 * The agent's work path: leases from the cluster broker out to local swarmlets in batches, results
 * back to the log. One way, short, and at-least-once with exactly-once recording:
 *
 *   take (lease) → dispatch → results → XADD one `results` entry per batch → complete / fail.
 *
 * The log entry goes first. If the agent dies after it and before the leases end, the locks expire,
 * BullMQ hands the tasks to another agent, they run again, and the director ignores the second
 * result. A task that failed on its last attempt is reported `dead` in that same entry: the broker's
 * own rule (retry while attempt < maxAttempts) is applied here before `fail`, so a crash between the
 * two cannot lose the news that a task is dead. A batch whose log write or lease ending fails stays
 * queued (its leases keep being renewed) and is retried, in order, before any new work is taken.
 */
import type { Clock } from '../../core/clock.js';
import type { Redis } from 'ioredis';
import type { Broker, BrokerTask } from '../brokers/broker.js';
import { RESULT_ERROR, RESULT_SPLIT, type WireResult, type WireTask } from '../local/wire.js';
import type { Provider } from '../provider.js';
import { prefetchFor } from '../type-stats.js';
import { phaseOf, UsageTracker } from '../usage-tracker.js';
import { culpritOf } from '../hard-limits.js';
import type { ResourceHints } from '../../predict/usage-model.js';
import type { LocalSwarmlet } from './agent-swarmlets.js';
import { isTaskPayload } from './hot-checks.js';
import { isCapBreak } from '../../place/consent-caps.js';
import { MAX_FAULT_CHARS, MAX_FAULT_IDS, taskPayloadSchema, type ClusterResult, type LogEntry } from './protocol.js';

interface Lease {
  readonly swarmlet: LocalSwarmlet;
  readonly task: BrokerTask;
  /** Its payload's mode: a join's duration is learned apart from a run's. */
  readonly mode: number;
  /** What its printed lines are filed under: `<jobKey>:<label>` (the job key absent from older directors). */
  readonly label: string;
  readonly jobKey: string | undefined;
}

/** What one result batch does in Redis: one log entry, then its leases ended. */
interface Batch {
  readonly entries: ClusterResult[];
  /** ok and split: their leases complete. */
  readonly completed: number[];
  /** Failed ids by reason (BullMQ keeps one reason a call). */
  readonly failures: Map<string, number[]>;
  logged: boolean;
}

interface Failure {
  readonly message: string;
  readonly stack?: string;
  /** No attempt can change it (a sandbox refusal): reported dead now, not retried. */
  readonly final?: boolean;
}

/** Unrecorded batches held while Redis refuses writes; past this no new work is taken. */
const MAX_UNRECORDED_BATCHES = 1_000;
/**
 * A micro-task that broke this node's consent caps is given back, not run, if it comes back here within this long: the
 * director moves its type elsewhere meanwhile (cap-breaks.ts). Past it (no other node took it), it runs here again.
 */
const CAP_BREAK_HOLD_MS = 5_000;
/** Micro-tasks held at most (a bound on the map; the oldest go first). */
const MAX_HELD = 1_000;

export interface AgentWorkOptions {
  /** The agent's (epoch) clock: lease times and cap-break holds. */
  readonly clock: Clock;
  readonly broker: Broker;
  readonly redis: Redis;
  readonly provider: Provider;
  readonly nodeId: string;
  readonly logKey: string;
  readonly hintDurationMs: (taskType: string) => number | undefined;
}

export class AgentWork {
  private readonly leases = new Map<number, Lease>();
  /** Each type's hints, taken from its module record the first time the type is seen here. */
  private readonly hints = new Map<string, ResourceHints>();
  /**
   * The usage model, fed by this agent's results: the one duration estimate its prefetch reads (the same model and
   * sampling as the director's and the embedded runtime's, from the micro-tasks run here).
   */
  private readonly usage = new UsageTracker(this.hints);
  private readonly unrecorded: Batch[] = [];
  /** Micro-tasks that broke this node's caps, and until when they are given back if they come back. */
  private readonly held = new Map<number, number>();
  /** Results reported ok or split, and micro-task failures (errors and crashes), for the heartbeat. */
  completed = 0;
  failed = 0;

  constructor(private readonly options: AgentWorkOptions) {}

  get leased(): number {
    return this.leases.size;
  }

  /** How many more micro-tasks a serving swarmlet should hold: its type's prefetch depth minus what it holds. */
  roomOf(swarmlet: LocalSwarmlet): number {
    if (!swarmlet.serving) return 0;
    return this.depthPerSwarmlet(swarmlet.taskType) - swarmlet.inFlight.size;
  }

  /** How many micro-tasks of a type its serving swarmlets hold when full: 0 when none serves it. */
  depthOf(taskType: string, swarmlets: Iterable<LocalSwarmlet>): number {
    let depth = 0;
    for (const swarmlet of swarmlets) {
      if (swarmlet.serving && swarmlet.taskType === taskType) depth += this.depthPerSwarmlet(taskType);
    }
    return depth;
  }

  /** The type's prefetch depth: one long micro-task, or ~2 ms of tiny ones. */
  private depthPerSwarmlet(taskType: string): number {
    this.know(taskType);
    return prefetchFor(this.usage.predictedDurationMs(taskType));
  }

  /** Fills every serving swarmlet up to its room. */
  async pump(swarmlets: Iterable<LocalSwarmlet>): Promise<void> {
    if (this.unrecorded.length > 0) await this.flush();
    if (this.unrecorded.length >= MAX_UNRECORDED_BATCHES) return;
    // A type whose queue ran dry is not asked again in this pump (one round trip per type, not per swarmlet).
    const dry = new Set<string>();
    for (const swarmlet of swarmlets) {
      const room = this.roomOf(swarmlet);
      if (room <= 0 || dry.has(swarmlet.taskType)) continue;
      const leased = await this.options.broker.take(swarmlet.taskType, room);
      if (leased.length < room) dry.add(swarmlet.taskType);
      if (leased.length > 0) await this.dispatch(swarmlet, leased);
    }
  }

  private async dispatch(swarmlet: LocalSwarmlet, taken: readonly BrokerTask[]): Promise<void> {
    const wire: WireTask[] = [];
    const batch = newBatch();
    const nowMs = this.options.clock.nowMs();
    const held = taken.filter((task) => (this.held.get(task.id) ?? 0) > nowMs);
    if (held.length > 0) await this.options.broker.requeue(held.map((task) => task.id));
    const leased = held.length === 0 ? taken : taken.filter((task) => !held.includes(task));
    for (const task of leased) {
      const payload = isTaskPayload(task.payload)
        ? { success: true as const, data: task.payload }
        : taskPayloadSchema.safeParse(task.payload);
      if (!payload.success) {
        const issue = payload.error.issues[0];
        const where = issue?.path.length ? issue.path.join('.') : 'payload';
        this.addFailure(batch, task, 0, {
          message: `micro-task ${task.id} (${task.taskType}) has an invalid payload: ${where}: ${issue?.message ?? 'invalid'}. Fix: enqueue payloads of the cluster protocol's taskPayloadSchema { mode, input, depth, deps, label }`,
        });
        continue;
      }
      const { mode, input, depth, deps, label, jobKey } = payload.data;
      this.leases.set(task.id, { swarmlet, task, mode, label, jobKey });
      if (swarmlet.inFlight.size === 0) swarmlet.progressAtMs = this.options.clock.nowMs();
      swarmlet.inFlight.add(task.id);
      wire.push([task.id, mode, input, depth, task.attempt, deps, label]);
    }
    if (wire.length > 0) {
      if (swarmlet.state === 'idle') swarmlet.transition('busy');
      swarmlet.stateSaved = false; // its state may change from here
      this.options.provider.dispatch(swarmlet.processId, wire);
    }
    await this.record(batch);
  }

  /** A batch of results from a swarmlet, recorded now. */
  async results(swarmlet: LocalSwarmlet, results: readonly WireResult[]): Promise<void> {
    this.stage(swarmlet, results);
    await this.flush();
  }

  /**
   * Takes a batch of results in (leases end here, in memory) without writing anything yet: the
   * next `flush` writes every staged batch as one log entry and one round of lease endings. Results
   * of leases given back (requeued) are dropped: another run records them.
   */
  stage(swarmlet: LocalSwarmlet, results: readonly WireResult[]): void {
    const batch = newBatch();
    for (const [id, status, value, durationUs] of results) {
      const lease = this.leases.get(id);
      if (lease?.swarmlet !== swarmlet) continue;
      this.leases.delete(id);
      swarmlet.inFlight.delete(id);
      if (lease.jobKey !== undefined) swarmlet.ranLabel(lease.label, lease.jobKey);
      swarmlet.progressAtMs = this.options.clock.nowMs();
      swarmlet.tasksDone += 1;
      this.know(lease.task.taskType);
      this.usage.completedDuration(lease.task.taskType, durationUs / 1000, phaseOf(lease.mode, status));
      if (status === RESULT_ERROR) {
        this.addFailure(batch, lease.task, durationUs, asFailure(value));
        continue;
      }
      batch.entries.push({
        id,
        status: status === RESULT_SPLIT ? 'split' : 'ok',
        value,
        durationUs,
        attempt: lease.task.attempt,
      });
      batch.completed.push(id);
      this.completed += 1;
    }
    if (!isEmpty(batch)) this.unrecorded.push(batch);
  }

  /** The job key of the micro-task with this label the swarmlet holds or just ran (for its printed lines). */
  jobKeyOf(swarmlet: LocalSwarmlet, label: string): string | undefined {
    for (const id of swarmlet.inFlight) {
      const lease = this.leases.get(id);
      if (lease?.label === label) return lease.jobKey;
    }
    return swarmlet.recentJobKeys.get(label);
  }

  /** Something staged and not yet written. */
  get pending(): boolean {
    return this.unrecorded.length > 0;
  }

  /**
   * A swarmlet exited with work in flight. Only the micro-task it was running can have caused that: it fails (an
   * attempt counted); those queued behind it never started and go back to the queue free. The embedded runtime's rule
   * (hard-limits.ts `culpritOf`): `lastStarted` is what the swarmlet's black box says it started last. Returns how
   * many failed (0 or 1).
   */
  async orphaned(swarmlet: LocalSwarmlet, message: string, lastStarted?: number | null): Promise<number> {
    const orphans = [...swarmlet.inFlight].filter((id) => this.leases.get(id)?.swarmlet === swarmlet);
    swarmlet.inFlight.clear();
    const culprit = culpritOf(orphans, lastStarted, undefined);
    const innocents = orphans.filter((id) => id !== culprit);
    const batch = newBatch();
    const returned = [...innocents];
    const lease = culprit === undefined ? undefined : this.leases.get(culprit);
    for (const id of orphans) this.leases.delete(id);
    if (innocents.length > 0) await this.options.broker.requeue(innocents);
    if (lease) {
      this.addFailure(batch, lease.task, 0, { message });
      if (lease.task.attempt < lease.task.maxAttempts) returned.push(lease.task.id);
    }
    await this.record(batch);
    if (returned.length > 0) await this.fault(swarmlet.taskType, returned, message);
    return lease ? 1 : 0;
  }

  /**
   * Micro-tasks that went back to the queue after their swarmlet died: the log says why, so their jobs' clients hear it
   * (those that used their last attempt are told in their `dead` result). One that broke the node's consent caps is
   * held off this node for a while (CAP_BREAK_HOLD_MS), and the director moves its type elsewhere.
   */
  private async fault(taskType: string, ids: readonly number[], reason: string): Promise<void> {
    const capBreak = isCapBreak(reason);
    if (capBreak) {
      const untilMs = this.options.clock.nowMs() + CAP_BREAK_HOLD_MS;
      for (const id of ids) this.held.set(id, untilMs);
      for (const id of this.held.keys()) if (this.held.size > MAX_HELD) this.held.delete(id);
    }
    const entry: LogEntry = {
      kind: 'fault',
      nodeId: this.options.nodeId,
      taskType,
      ids: ids.slice(0, MAX_FAULT_IDS),
      reason: reason.slice(0, MAX_FAULT_CHARS),
      capBreak,
    };
    await this.options.redis.xadd(this.options.logKey, '*', 'e', JSON.stringify(entry));
  }

  /** Gives a swarmlet's leases back without counting an attempt; the host skips those still queued in it. */
  async giveBack(swarmlet: LocalSwarmlet): Promise<number> {
    const ids = [...swarmlet.inFlight].filter((id) => this.leases.get(id)?.swarmlet === swarmlet);
    swarmlet.inFlight.clear();
    for (const id of ids) this.leases.delete(id);
    if (ids.length > 0) this.options.provider.drop(swarmlet.processId, ids);
    await this.options.broker.requeue(ids);
    return ids.length;
  }

  /** Every lease back to its queue at once (consent revoked, agent stopping): other agents take them immediately. */
  async requeueAll(swarmlets: Iterable<LocalSwarmlet>): Promise<number> {
    const ids = [...this.leases.keys()];
    this.leases.clear();
    for (const swarmlet of swarmlets) swarmlet.inFlight.clear();
    await this.options.broker.requeue(ids);
    return ids.length;
  }

  /** Writes the batches not yet recorded, oldest first; throws (and keeps them) if Redis refuses. */
  async flush(): Promise<void> {
    this.mergeUnlogged();
    while (this.unrecorded.length > 0) {
      const batch = this.unrecorded[0]!;
      if (!batch.logged && batch.entries.length > 0) {
        await this.options.redis.xadd(
          this.options.logKey,
          '*',
          'e',
          JSON.stringify({ kind: 'results', nodeId: this.options.nodeId, results: batch.entries }),
        );
      }
      batch.logged = true;
      const { broker } = this.options;
      await Promise.all([
        broker.complete(batch.completed),
        ...[...batch.failures].map(([reason, ids]) => broker.fail(ids, reason)),
      ]);
      this.unrecorded.shift();
    }
  }

  /**
   * Batches that wait together go out as one: one log entry and one round of lease endings, so when
   * results arrive faster than Redis answers the round trips do not grow with them. A batch already
   * logged (its lease endings failed) stays apart: it must not be logged twice.
   */
  private mergeUnlogged(): void {
    const first = this.unrecorded.findIndex((batch) => !batch.logged);
    if (first < 0 || this.unrecorded.length - first < 2) return;
    const merged = newBatch();
    for (const batch of this.unrecorded.splice(first)) {
      merged.entries.push(...batch.entries);
      merged.completed.push(...batch.completed);
      for (const [reason, ids] of batch.failures)
        merged.failures.set(reason, [...(merged.failures.get(reason) ?? []), ...ids]);
    }
    this.unrecorded.push(merged);
  }

  private async record(batch: Batch): Promise<void> {
    if (isEmpty(batch)) return;
    this.unrecorded.push(batch);
    await this.flush();
  }

  /** A failed micro-task: retried by the broker while attempts remain, else reported dead in this batch. */
  private addFailure(batch: Batch, task: BrokerTask, durationUs: number, failure: Failure): void {
    this.failed += 1;
    if (failure.final === true) {
      batch.entries.push({ id: task.id, status: 'dead', value: failure, durationUs, attempt: task.attempt });
      batch.completed.push(task.id); // its lease ends here: the broker must not retry it
      return;
    }
    if (task.attempt >= task.maxAttempts) {
      batch.entries.push({ id: task.id, status: 'dead', value: failure, durationUs, attempt: task.attempt });
    }
    const ids = batch.failures.get(failure.message);
    if (ids) ids.push(task.id);
    else batch.failures.set(failure.message, [task.id]);
  }

  private know(taskType: string): void {
    if (!this.hints.has(taskType)) this.hints.set(taskType, { durationMs: this.options.hintDurationMs(taskType) });
  }
}

function newBatch(): Batch {
  return { entries: [], completed: [], failures: new Map(), logged: false };
}

/** The host sends `{ message, stack }` for a thrown error; anything else is reported as text. */
function asFailure(value: unknown): Failure {
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
    const { message, stack, final } = value as { message: string; stack?: unknown; final?: unknown };
    return { message, ...(typeof stack === 'string' && { stack }), ...(final === true && { final: true }) };
  }
  return { message: String(value) };
}

function isEmpty(batch: Batch): boolean {
  return batch.entries.length === 0 && batch.completed.length === 0 && batch.failures.size === 0;
}
