/**
 * Tasks a BullMQ broker fetched ahead (a completion's moveToFinished also fetches the next ready
 * job of its queue; a batch job brings several tasks at once): leases held by the broker and not
 * yet handed out by `take`, per class queue, oldest first. To its caller such a task is still
 * waiting: it cannot be completed or failed, and `cancel` may remove it. Only ids live here; the
 * lease table stays the broker's.
 */
import { queueNameOf, RANKS_SERVED, taskTypeOfQueue } from './bullmq-jobs.js';

export class FetchedAhead {
  private readonly lists = new Map<string, number[]>();
  private readonly ids = new Set<number>();

  add(queueName: string, id: number): void {
    this.ids.add(id);
    const list = this.lists.get(queueName);
    if (list) list.push(id);
    else this.lists.set(queueName, [id]);
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }

  /** Up to `max` ids of one queue, oldest first, removed from here. */
  take(queueName: string, max: number): number[] {
    const list = this.lists.get(queueName);
    return this.forget(list ? list.splice(0, Math.max(0, max)) : []);
  }

  /** Ids taken and not handed out after all go back to the front of their queue's list, in order. */
  putBack(queueName: string, ids: readonly number[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.ids.add(id);
    const list = this.lists.get(queueName);
    if (list) list.unshift(...ids);
    else this.lists.set(queueName, [...ids]);
  }

  /** Removes these ids wherever they are held (cancelled before they were handed out). */
  remove(ids: ReadonlySet<number>): void {
    for (const [name, list] of this.lists)
      this.lists.set(
        name,
        list.filter((id) => !ids.has(id)),
      );
    this.forget([...ids]);
  }

  /** Held for one task type, every class. */
  countOf(taskType: string): number {
    return RANKS_SERVED.reduce<number>(
      (sum, rank) => sum + (this.lists.get(queueNameOf(taskType, rank))?.length ?? 0),
      0,
    );
  }

  get total(): number {
    return this.ids.size;
  }

  /** Removes and returns the ids of every type `wanted` says no to. */
  takeUnwanted(wanted: (taskType: string) => boolean): number[] {
    const ids: number[] = [];
    for (const [name, list] of this.lists) {
      if (wanted(taskTypeOfQueue(name))) continue;
      ids.push(...list);
      this.lists.delete(name);
    }
    return this.forget(ids);
  }

  private forget(ids: number[]): number[] {
    for (const id of ids) this.ids.delete(id);
    return ids;
  }
}
