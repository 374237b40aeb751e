/**
 * Tasks a BullMQ broker fetched ahead (a completion's moveToFinished also fetches the next ready
 * task of its queue): leases held by the broker and not yet handed out by `take`, per class queue,
 * oldest first. Only ids live here; the lease table stays the broker's.
 */
import { queueNameOf, RANKS_SERVED, taskTypeOfQueue } from './bullmq-jobs.js';

export class FetchedAhead {
  private readonly lists = new Map<string, number[]>();

  add(queueName: string, id: number): void {
    const list = this.lists.get(queueName);
    if (list) list.push(id);
    else this.lists.set(queueName, [id]);
  }

  /** Up to `max` ids of one queue, oldest first, removed from here. */
  take(queueName: string, max: number): number[] {
    const list = this.lists.get(queueName);
    return list ? list.splice(0, max) : [];
  }

  /** Held for one task type, every class. */
  countOf(taskType: string): number {
    return RANKS_SERVED.reduce<number>((sum, rank) => sum + (this.lists.get(queueNameOf(taskType, rank))?.length ?? 0), 0);
  }

  get total(): number {
    let total = 0;
    for (const list of this.lists.values()) total += list.length;
    return total;
  }

  /** Removes and returns the ids of every type `wanted` says no to. */
  takeUnwanted(wanted: (taskType: string) => boolean): number[] {
    const ids: number[] = [];
    for (const [name, list] of this.lists) {
      if (wanted(taskTypeOfQueue(name))) continue;
      ids.push(...list);
      this.lists.delete(name);
    }
    return ids;
  }
}
