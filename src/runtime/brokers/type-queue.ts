import type { PriorityName } from '../../core/limits.js';
import { SlaQueue, type SlaQueueOptions } from '../../schedule/sla-queue.js';
import type { BrokerTask } from './broker.js';

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

const CLASS_BY_RANK: readonly PriorityName[] = ['low', 'normal', 'high'];
const classOf = (priority: number): PriorityName => CLASS_BY_RANK[Math.max(0, Math.min(2, Math.round(priority)))]!;
const NO_OWNER = '';

/**
 * The ready micro-tasks of one task type, in SLA order (`schedule/sla-queue`: class levels with
 * aging, EDF, per-owner fair share).
 *
 * Fast path: while everything queued shares one class and one owner and has no deadline, the SLA
 * order is plain FIFO, so a FIFO holds it (O(1); the 300k-task throughput path never builds a
 * heap). The first task that differs moves the lane into an SlaQueue; an empty queue drops back.
 * A retried or requeued task rejoins the FIFO at the back (the SLA queue would put it by age).
 */
export class TypeQueue {
  private readonly fifo = new Fifo<BrokerTask>();
  /** The one class and owner the FIFO holds (no string built per push: this is the hot path). */
  private lanePriority = -1;
  private laneOwner: string | undefined;
  private sla: SlaQueue | undefined;
  private readonly slaTasks = new Map<number, BrokerTask>();

  constructor(private readonly options: SlaQueueOptions) {}

  get size(): number {
    return this.sla ? this.sla.size : this.fifo.size;
  }

  push(task: BrokerTask, nowMs: number): void {
    if (!this.sla) {
      if (task.deadlineAtMs === undefined) {
        if (this.fifo.size === 0) {
          this.lanePriority = task.priority;
          this.laneOwner = task.owner;
        }
        if (task.priority === this.lanePriority && task.owner === this.laneOwner) {
          this.fifo.push(task);
          return;
        }
      }
      this.toSla(nowMs);
    }
    this.pushSla(task, nowMs);
  }

  take(max: number, nowMs: number, into: BrokerTask[]): void {
    if (!this.sla) {
      while (into.length < max && this.fifo.size > 0) into.push(this.fifo.shift()!);
      return;
    }
    while (into.length < max) {
      const item = this.sla.pop(nowMs);
      if (!item) break;
      into.push(this.slaTasks.get(item.id)!);
      this.slaTasks.delete(item.id);
    }
    if (this.sla.size === 0) this.sla = undefined;
  }

  /**
   * Removes a waiting task; false when it is not queued here. Rare (an ended job), so the FIFO moves to the SLA queue
   * for it.
   */
  remove(id: number, nowMs: number): boolean {
    if (!this.sla) {
      if (this.fifo.size === 0) return false;
      this.toSla(nowMs);
    }
    const removed = this.sla!.remove(id);
    if (removed) this.slaTasks.delete(id);
    if (this.sla!.size === 0) this.sla = undefined;
    return removed;
  }

  private toSla(nowMs: number): void {
    this.sla = new SlaQueue({ ...this.options, capacity: Number.MAX_SAFE_INTEGER });
    for (let task = this.fifo.shift(); task; task = this.fifo.shift()) this.pushSla(task, nowMs);
  }

  private pushSla(task: BrokerTask, nowMs: number): void {
    const result = this.sla!.push({
      id: task.id,
      owner: task.owner ?? NO_OWNER,
      priorityClass: classOf(task.priority),
      enqueuedAtMs: task.enqueuedAtMs ?? nowMs,
      deadlineAtMs: task.deadlineAtMs,
      costMs: task.costMs ?? 0,
    });
    // Broker tasks come from our own dispatcher: a refusal here is a bug, not bad input.
    if (!result.accepted) throw new Error(`broker: micro-task ${task.id} refused by the SLA queue: ${result.message}`);
    this.slaTasks.set(task.id, task);
  }
}
