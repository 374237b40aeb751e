import type { Broker, BrokerTask, FailOutcome } from './broker.js';

/** A FIFO with O(1) push and shift (an array plus a head index, compacted now and then). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** Per task type, one FIFO per priority level (priorities are few, small integers). */
class TypeQueue {
  private readonly levels = new Map<number, Fifo<BrokerTask>>();
  private sortedLevels: number[] = [];
  size = 0;
  push(task: BrokerTask): void {
    let level = this.levels.get(task.priority);
    if (!level) {
      level = new Fifo();
      this.levels.set(task.priority, level);
      this.sortedLevels = [...this.levels.keys()].sort((a, b) => b - a);
    }
    level.push(task);
    this.size += 1;
  }
  take(max: number, into: BrokerTask[]): void {
    for (const priority of this.sortedLevels) {
      const level = this.levels.get(priority)!;
      while (into.length < max && level.size > 0) {
        into.push(level.shift()!);
        this.size -= 1;
      }
      if (into.length >= max) return;
    }
  }
}

/** The embedded broker: everything in this process's memory. */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  private readonly queues = new Map<string, TypeQueue>();
  private readonly leases = new Map<number, BrokerTask>();

  async enqueue(tasks: readonly BrokerTask[]): Promise<void> {
    for (const task of tasks) this.queueOf(task.taskType).push(task);
  }

  async take(taskType: string, max: number): Promise<BrokerTask[]> {
    const taken: BrokerTask[] = [];
    const queue = this.queues.get(taskType);
    if (!queue || queue.size === 0 || max <= 0) return taken;
    queue.take(max, taken);
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
      this.queueOf(task.taskType).push({ ...task, attempt: task.attempt + 1 });
      return { id, outcome: 'retry', attempt: task.attempt + 1 };
    });
  }

  async requeue(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const task = this.leases.get(id);
      if (!task) continue;
      this.leases.delete(id);
      this.queueOf(task.taskType).push(task);
    }
  }

  async depths(): Promise<Map<string, number>> {
    return new Map([...this.queues].map(([type, queue]) => [type, queue.size]));
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
      queue = new TypeQueue();
      this.queues.set(taskType, queue);
    }
    return queue;
  }
}
