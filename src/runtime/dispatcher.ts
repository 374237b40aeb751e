import type { Clock } from '../core/clock.js';
import type { Broker, BrokerTask } from './brokers/broker.js';
import type { JobHistory } from './job-history.js';
import type { JobTracker } from './jobs/job-tracker.js';
import type { NodeReservations } from './node-reservations.js';
import type { WireTask } from './local/ipc.js';
import type { Provider } from './provider.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import { prefetchFor, type TypeStats } from './type-stats.js';
import type { DurationEstimate } from './usage-tracker.js';

/**
 * The path a micro-task travels one way: ready micro-tasks into the broker, leases out to the
 * serving swarmlets in batches. Keeps a tally of what waits in the broker per type (read without
 * a broker round trip by the cold-start accounting and admission control).
 */
export class Dispatcher {
  readonly queued = new Map<string, number>();

  constructor(
    private readonly tracker: JobTracker,
    private readonly broker: Broker,
    private readonly provider: Provider,
    private readonly swarmlets: ReadonlyMap<string, SwarmletRecord>,
    private readonly stats: ReadonlyMap<string, TypeStats>,
    /** The usage model: a type's predicted duration prices its queued micro-tasks and sizes its batches. */
    private readonly durations: DurationEstimate,
    private readonly history: JobHistory,
    private readonly clock: Clock,
    private readonly maxAttempts: number,
    private readonly reservations: NodeReservations,
  ) {}

  /**
   * Queues ready micro-tasks. One batch of results may make a job's tasks ready and then fail that job (a later split
   * in the batch breaks a limit), which releases them: a task whose job has ended is not queued.
   */
  async enqueue(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    const nowMs = this.clock.nowMs();
    const tasks: BrokerTask[] = [];
    const costs = new Map<string, number>(); // one prediction per type and call, not per micro-task
    for (const id of ids) {
      const task = this.tracker.tasks.get(id);
      const job = task && this.tracker.jobs.get(task.jobId);
      if (!task || job?.status !== 'running') continue;
      this.count(task.taskType, 1);
      this.history.demand(task.jobId, task.taskType, nowMs);
      let costMs = costs.get(task.taskType);
      if (costMs === undefined)
        costs.set(task.taskType, (costMs = this.durations.predictedDurationMs(task.taskType) ?? 0));
      tasks.push({
        id,
        taskType: task.taskType,
        priority: job.priority,
        attempt: 1,
        maxAttempts: this.maxAttempts,
        payload: null,
        owner: job.owner,
        deadlineAtMs: job.deadlineAtMs,
        enqueuedAtMs: nowMs,
        costMs,
      });
    }
    if (tasks.length > 0) await this.broker.enqueue(tasks);
  }

  /**
   * A leased micro-task failed: retried by the broker while attempts remain, else its job fails with the task's own
   * error.
   */
  async retryOrFail(
    ids: readonly number[],
    failure: { message: string; stack?: string; final?: boolean; attempt?: number },
  ): Promise<void> {
    if (ids.length === 0) return;
    if (failure.final === true) return this.failNow(ids, failure);
    for (const outcome of await this.broker.fail(ids, failure.message)) {
      const task = this.tracker.tasks.get(outcome.id);
      if (!task) continue;
      if (outcome.outcome === 'retry') {
        this.requeued(outcome.id);
        this.stats.get(task.taskType)!.report.retries += 1;
      } else {
        this.stats.get(task.taskType)!.failed += 1;
        this.tracker.failed(outcome.id, outcome.attempt, failure.message, failure.stack);
      }
    }
  }

  /** A failure no attempt can change (a sandbox refusal): the micro-tasks fail now, their leases end. */
  private async failNow(
    ids: readonly number[],
    failure: { message: string; stack?: string; attempt?: number },
  ): Promise<void> {
    await this.broker.complete(ids);
    const attempt = Number.isInteger(failure.attempt) && failure.attempt! > 0 ? failure.attempt! : 1;
    for (const id of ids) {
      const stats = this.stats.get(this.tracker.tasks.get(id)?.taskType ?? '');
      if (stats) stats.failed += 1;
      this.tracker.failed(id, attempt, failure.message, failure.stack);
    }
  }

  /** The broker's own counts, once per tick: the tally heals if it ever drifted. */
  resync(depths: ReadonlyMap<string, number>): void {
    for (const [taskType, depth] of depths) this.queued.set(taskType, depth);
  }

  /** A leased micro-task went back to the broker (retry or requeue): it waits again. */
  requeued(id: number): void {
    const task = this.tracker.tasks.get(id);
    if (!task) return;
    this.tracker.requeue(id);
    this.count(task.taskType, 1);
  }

  /** Fills every serving swarmlet up to its type's prefetch depth. */
  async pump(): Promise<void> {
    for (const swarmlet of this.swarmlets.values()) {
      if (!swarmlet.serving || swarmlet.isolated) continue;
      const room = prefetchFor(this.durations.predictedDurationMs(swarmlet.taskType)) - swarmlet.inFlight.size;
      if (room <= 0) continue;
      // An idle swarmlet with work waiting claims its type's predicted CPU and memory first; no room in the pool: the
      // work waits.
      if (
        swarmlet.inFlight.size === 0 &&
        ((this.queued.get(swarmlet.taskType) ?? 0) === 0 || !this.reservations.hold(swarmlet, this.clock.nowMs()))
      )
        continue;
      const wire = await this.leaseLive(swarmlet, room);
      if (wire.length === 0) {
        if (swarmlet.inFlight.size === 0) this.reservations.release(swarmlet.id, this.clock.nowMs());
        continue;
      }
      swarmlet.shadow = false;
      if (swarmlet.state === 'idle') swarmlet.transition('busy', this.clock.nowMs());
      this.provider.dispatch(swarmlet.id, wire);
    }
  }

  /**
   * Leases up to `room` micro-tasks of running jobs for a swarmlet. Tasks of a job that already ended are dropped and
   * the lease taken again: a failed job may leave millions queued, and skipping one batch per pump would hold back the
   * jobs queued behind them for as long.
   */
  private async leaseLive(swarmlet: SwarmletRecord, room: number): Promise<WireTask[]> {
    const wire: WireTask[] = [];
    while (wire.length < room) {
      const leased = await this.broker.take(swarmlet.taskType, room - wire.length);
      if (leased.length === 0) break;
      this.count(swarmlet.taskType, -leased.length);
      const dropped: number[] = [];
      for (const lease of leased) {
        if (!this.tracker.start(lease.id)) {
          dropped.push(lease.id);
          continue;
        }
        const task = this.tracker.tasks.get(lease.id)!;
        swarmlet.inFlight.add(lease.id);
        const deps = this.tracker.depOutputs(task);
        wire.push([lease.id, task.mode, task.input, task.depth, lease.attempt, deps, task.label]);
      }
      if (dropped.length === 0) break;
      await this.broker.complete(dropped);
    }
    return wire;
  }

  private count(taskType: string, delta: number): void {
    this.queued.set(taskType, Math.max(0, (this.queued.get(taskType) ?? 0) + delta));
  }
}
