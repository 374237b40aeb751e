import type { Clock } from '../../core/clock.js';
import type { SlaQueueOptions } from '../../schedule/sla-queue.js';
import type { Broker, BrokerTask, FailOutcome } from './broker.js';
import { TypeQueue } from './type-queue.js';
import { wallEnvironment } from '../local/wall-environment.js';

export interface MemoryBrokerOptions {
  /** Time for aging and deadlines; the runtime's clock (a virtual one in tests). Default: the monotonic clock. */
  readonly clock?: Clock;
  /** Aging and fairness knobs of the SLA order (`schedule/sla-queue`). */
  readonly sla?: SlaQueueOptions;
}

/** The embedded broker: everything in this process's memory, in SLA order per task type. */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  private readonly clock: Clock;
  private readonly sla: SlaQueueOptions;
  private readonly queues = new Map<string, TypeQueue>();
  private readonly leases = new Map<number, BrokerTask>();

  constructor(options: MemoryBrokerOptions = {}) {
    this.clock = options.clock ?? wallEnvironment.clock;
    this.sla = options.sla ?? {};
  }

  async enqueue(tasks: readonly BrokerTask[]): Promise<void> {
    const nowMs = this.clock.nowMs();
    for (const task of tasks) this.queueOf(task.taskType).push(task, nowMs);
  }

  async take(taskType: string, max: number): Promise<BrokerTask[]> {
    const taken: BrokerTask[] = [];
    const queue = this.queues.get(taskType);
    if (!queue || queue.size === 0 || max <= 0) return taken;
    queue.take(max, this.clock.nowMs(), taken);
    for (const task of taken) this.leases.set(task.id, task);
    return taken;
  }

  async complete(ids: readonly number[]): Promise<number[]> {
    const done: number[] = [];
    for (const id of ids) if (this.leases.delete(id)) done.push(id);
    return done;
  }

  async fail(ids: readonly number[], _reason: string): Promise<FailOutcome[]> {
    return ids.map((id) => {
      const task = this.leases.get(id);
      if (!task) return { id, outcome: 'unknown', attempt: 0 };
      this.leases.delete(id);
      if (task.attempt >= task.maxAttempts) return { id, outcome: 'dead', attempt: task.attempt };
      this.queueOf(task.taskType).push({ ...task, attempt: task.attempt + 1 }, this.clock.nowMs());
      return { id, outcome: 'retry', attempt: task.attempt + 1 };
    });
  }

  async requeue(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const task = this.leases.get(id);
      if (!task) continue;
      this.leases.delete(id);
      this.queueOf(task.taskType).push(task, this.clock.nowMs());
    }
  }

  async cancel(tasks: readonly { readonly id: number; readonly taskType: string }[]): Promise<number[]> {
    const waitingByType = new Map<string, Set<number>>();
    for (const { id, taskType } of tasks) {
      if (this.leases.has(id)) continue;
      let ids = waitingByType.get(taskType);
      if (!ids) waitingByType.set(taskType, (ids = new Set()));
      ids.add(id);
    }
    const removed: number[] = [];
    for (const [taskType, ids] of waitingByType) {
      for (const id of this.queues.get(taskType)?.removeAll(ids) ?? []) removed.push(id);
    }
    return removed;
  }

  async depths(): Promise<Map<string, number>> {
    const depths = new Map<string, number>();
    for (const [type, queue] of this.queues) depths.set(type, queue.size);
    return depths;
  }

  async leased(): Promise<number> {
    return this.leases.size;
  }

  async close(): Promise<void> {
    this.queues.clear();
    this.leases.clear();
  }

  private queueOf(taskType: string): TypeQueue {
    let queue = this.queues.get(taskType);
    if (!queue) {
      queue = new TypeQueue(this.sla);
      this.queues.set(taskType, queue);
    }
    return queue;
  }
}
