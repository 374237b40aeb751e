/**
 * The queue of ready micro-tasks, per task type, by priority, with bounded retries.
 * A task is `ready` until `take` leases it; a lease ends with `complete` or `fail`.
 * Implementations: memory (embedded) now, BullMQ (cluster) later; one contract suite for both
 * (test/broker.contract.ts). Everything is batched: the hot path moves many tasks per call.
 */
export interface BrokerTask {
  readonly id: number;
  readonly taskType: string;
  /** Class rank (`PRIORITIES`: 0 low, 1 normal, 2 high); higher runs first, FIFO within a class. */
  readonly priority: number;
  /**
   * SLA fields. A broker that orders by them (the memory broker: `schedule/sla-queue`) serves
   * deadlines first within a level, shares a class fairly between owners and ages lower classes so
   * they never starve; one that does not (BullMQ) still honours class, then FIFO.
   */
  readonly owner?: string;
  readonly deadlineAtMs?: number;
  /** When the task first became ready (kept across requeues, so a retried task keeps its age). */
  readonly enqueuedAtMs?: number;
  /** Predicted duration: the fair-share currency between owners. */
  readonly costMs?: number;
  /** 1 on the first try; bumped by each `fail` that retries. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly payload: unknown;
}

export type FailOutcome = {
  readonly id: number;
  readonly outcome: 'retry' | 'dead' | 'unknown';
  readonly attempt: number;
};

export interface Broker {
  readonly name: string;
  enqueue(tasks: readonly BrokerTask[]): Promise<void>;
  /** Leases up to `max` ready tasks of a type, highest priority first. */
  take(taskType: string, max: number): Promise<BrokerTask[]>;
  /**
   * Ends leases successfully. Returns the ids that were leased: a second completion of the same lease returns nothing.
   */
  complete(ids: readonly number[]): Promise<number[]>;
  /** Ends leases in failure: requeued with attempt + 1 while attempts remain, else dead. */
  fail(ids: readonly number[], reason: string): Promise<FailOutcome[]>;
  /** Ends leases without counting an attempt: the tasks go back to their queues as they were (they never ran). */
  requeue(ids: readonly number[]): Promise<void>;
  /**
   * Removes tasks still waiting (their job ended): returns the ids it removed. A leased task is not
   * touched (its lease ends as usual), nor one this instance fetched ahead.
   */
  cancel(tasks: readonly { readonly id: number; readonly taskType: string }[]): Promise<number[]>;
  /** Ready (not leased) tasks per type. */
  depths(): Promise<Map<string, number>>;
  /** Tasks currently leased. */
  leased(): Promise<number>;
  close(): Promise<void>;
}
