/**
 * The leases a BullMQ broker holds, in memory (bullmq-broker.ts): per task id, the BullMQ job whose
 * lock is its lease (a batch's job for every task it carries), and which tasks are only held ahead
 * (fetched, not handed out). No Redis here: the broker makes the calls this table says to make.
 */
import type { Job } from 'bullmq';
import type { BrokerTask } from './broker.js';
import { FetchedAhead } from './bullmq-ahead.js';
import { isBatch, untouched, type BatchData, type HeldBatch } from './bullmq-batches.js';
import { queueNameOf } from './bullmq-jobs.js';

export interface Lease {
  readonly job: Job;
  readonly task: BrokerTask;
  /** Set when the job carries several tasks: its lock is every one's lease. */
  readonly batch?: HeldBatch;
}

/** One Redis call that ends leases: a one-task job, or a batch whose last open tasks are these. */
export interface Ending {
  readonly job: Job;
  readonly leases: readonly Lease[];
  readonly batch?: HeldBatch;
}

export class LeaseTable {
  /** Leases fetched and not yet handed out by `take`, per class queue, oldest first. */
  readonly ahead = new FetchedAhead();
  private readonly leases = new Map<number, Lease>();
  /** Per queue, tasks per job fetched lately (EWMA): how many jobs a take needs for its tasks. */
  private readonly tasksPerJob = new Map<string, number>();

  get size(): number {
    return this.leases.size;
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  taskOf(id: number): BrokerTask | undefined {
    return this.leases.get(id)?.task;
  }

  ids(): number[] {
    return [...this.leases.keys()];
  }

  perJob(queueName: string): number {
    return this.tasksPerJob.get(queueName) ?? 1;
  }

  /**
   * Leases a fetched job's tasks and holds them ahead in their queue (take hands them out). A task
   * already leased here (enqueued twice, as a director's resume may) is not leased twice. Returns
   * the job when none of its tasks was new: the caller ends that copy at once.
   */
  hold(queueName: string, job: Job): Job | undefined {
    const data = job.data as BrokerTask | BatchData;
    const tasks = isBatch(data)
      ? data.batch
      : [job.attemptsMade ? { ...data, attempt: data.attempt + job.attemptsMade } : data];
    const batch: HeldBatch | undefined = isBatch(data) ? { job, size: tasks.length, open: 0 } : undefined;
    let fresh = 0;
    for (const task of tasks) {
      if (this.leases.has(task.id)) continue;
      this.leases.set(task.id, { job, task, batch });
      this.ahead.add(queueName, task.id);
      fresh += 1;
    }
    if (batch) batch.open = fresh;
    const perJob = this.tasksPerJob.get(queueName) ?? tasks.length;
    this.tasksPerJob.set(queueName, perJob + 0.3 * (tasks.length - perJob));
    return fresh === 0 ? job : undefined;
  }

  /**
   * Takes the held leases among `ids` (each once) out of the table. A task held ahead was never
   * handed out: to the caller it is still waiting, so it is not released (unless the broker itself
   * lets go of everything: `evenAhead`, at close).
   */
  release(ids: readonly number[], evenAhead = false): Lease[] {
    const held: Lease[] = [];
    for (const id of ids) {
      const lease = this.leases.get(id);
      if (!lease || (!evenAhead && this.ahead.has(id))) continue;
      this.leases.delete(id);
      held.push(lease);
    }
    return held;
  }

  /**
   * The Redis calls that end these leases: one per one-task job, one per batch whose last open
   * tasks these are (each counts its tasks out of the batch). Tasks of a batch that stays open
   * need no call: they are `settled`.
   */
  endingsOf(held: readonly Lease[]): { endings: Ending[]; settled: Lease[] } {
    const endings: Ending[] = [];
    const settled: Lease[] = [];
    for (const [batch, leases] of groupByBatch(held)) {
      if (!batch) {
        endings.push(...leases.map((lease) => ({ job: lease.job, leases: [lease] })));
        continue;
      }
      batch.open -= leases.length;
      if (batch.open === 0) endings.push({ job: batch.job, leases, batch });
      else settled.push(...leases);
    }
    return { endings, settled };
  }

  /**
   * For a requeue: one-task jobs and untouched batches go back `whole`, as they came (each an
   * ending); tasks of batches partly ended are `parts`, to go back alone.
   */
  splitForRequeue(held: readonly Lease[]): { whole: Ending[]; parts: Lease[] } {
    const whole: Ending[] = [];
    const parts: Lease[] = [];
    for (const [batch, leases] of groupByBatch(held)) {
      if (!batch) whole.push(...leases.map((lease) => ({ job: lease.job, leases: [lease] })));
      else if (untouched(batch) && leases.length === batch.open) {
        batch.open = 0;
        whole.push({ job: batch.job, leases, batch });
      } else parts.push(...leases);
    }
    return { whole, parts };
  }

  /** An ending that did not happen (Redis refused): its leases are held again, as before the call. */
  restore(ending: Ending): void {
    for (const lease of ending.leases) this.leases.set(lease.task.id, lease);
    if (ending.batch) ending.batch.open += ending.leases.length;
  }

  /** Leases put back after a call that ended nothing (no batch was counted down). */
  putBack(leases: readonly Lease[]): void {
    for (const lease of leases) this.leases.set(lease.task.id, lease);
  }

  /** The distinct jobs held, per queue: what lock renewal extends. */
  jobsByQueue(): Map<string, string[]> {
    const byQueue = new Map<string, Set<string>>();
    for (const { job, task } of this.leases.values()) {
      const name = queueNameOf(task.taskType, task.priority);
      let jobIds = byQueue.get(name);
      if (!jobIds) byQueue.set(name, (jobIds = new Set()));
      jobIds.add(job.id!);
    }
    return new Map([...byQueue].map(([name, jobIds]) => [name, [...jobIds]]));
  }

  /** Jobs whose locks were lost: every task they carry is no longer leased here. */
  dropJobs(lost: ReadonlySet<string>): void {
    if (lost.size === 0) return;
    for (const [id, lease] of this.leases) if (lost.has(lease.job.id!)) this.leases.delete(id);
  }
}

function groupByBatch(held: readonly Lease[]): Map<HeldBatch | undefined, Lease[]> {
  const groups = new Map<HeldBatch | undefined, Lease[]>();
  for (const lease of held) {
    const group = groups.get(lease.batch);
    if (group) group.push(lease);
    else groups.set(lease.batch, [lease]);
  }
  return groups;
}
