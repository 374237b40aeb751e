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
  /** Takes out every item that matches, in one pass; the rest keep their order. */
  removeWhere(matches: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      (matches(item) ? removed : kept).push(item);
    }
    if (removed.length > 0) {
      this.items = kept;
      this.head = 0;
    }
    return removed;
  }
}

const CLASS_BY_RANK: readonly PriorityName[] = ['low', 'normal', 'high'];
const classOf = (priority: number): PriorityName => CLASS_BY_RANK[Math.max(0, Math.min(2, Math.round(priority)))]!;
const NO_OWNER = '';

/**
 * The ready micro-tasks of one task type, in SLA order (`schedule/sla-queue`: class levels with
 * aging, EDF, per-owner fair share).
 *
 * Fast path: while everything queued shares one class, one owner and one deadline (none, or its
 * job's), the SLA order is plain FIFO, so a FIFO holds it (O(1); the 300k-task throughput path
 * never builds a heap). With one deadline D, a task's due time max(D, enqueuedAtMs) grows with
 * enqueuedAtMs, so EDF is FIFO too; the heaps cost ~13× per task. The first task that differs
 * moves the lane into an SlaQueue; an empty queue drops back. A retried or requeued task rejoins
 * the FIFO at the back (the SLA queue would put it by age).
 */
export class TypeQueue {
  private readonly fifo = new Fifo<BrokerTask>();
  /** The one class, owner and deadline the FIFO holds (no string built per push: this is the hot path). */
  private lanePriority = -1;
  private laneOwner: string | undefined;
  private laneDeadlineAtMs: number | undefined;
  private sla: SlaQueue | undefined;
  private readonly slaTasks = new Map<number, BrokerTask>();

  constructor(private readonly options: SlaQueueOptions) {}

  get size(): number {
    return this.sla ? this.sla.size : this.fifo.size;
  }

  push(task: BrokerTask, nowMs: number): void {
    if (!this.sla) {
      if (this.fifo.size === 0) {
        this.lanePriority = task.priority;
        this.laneOwner = task.owner;
        this.laneDeadlineAtMs = task.deadlineAtMs;
      }
      if (
        task.priority === this.lanePriority &&
        task.owner === this.laneOwner &&
        task.deadlineAtMs === this.laneDeadlineAtMs
      ) {
        this.fifo.push(task);
        return;
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
   * Removes waiting tasks (an ended job's) and returns the ids it held. A FIFO lane stays one: one pass over it, where
   * moving it into the SLA heaps first cost ~40× its enqueue and slowed every take after.
   */
  removeAll(ids: ReadonlySet<number>): number[] {
    if (!this.sla) return this.fifo.removeWhere((task) => ids.has(task.id)).map((task) => task.id);
    const removed: number[] = [];
    for (const id of ids) {
      if (!this.sla.remove(id)) continue;
      this.slaTasks.delete(id);
      removed.push(id);
    }
    if (this.sla.size === 0) this.sla = undefined;
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
