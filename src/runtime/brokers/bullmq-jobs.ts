/**
 * How broker tasks become BullMQ jobs and queues, the broker's options and the checks on what it is given, and small
 * queue reads (bullmq-broker.ts).
 */
import type { Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import type { Environment, Timers } from '../../core/environment.js';
import type { BrokerTask } from './broker.js';

/** Ready: waiting, or requeued (delayed by 0 ms: nothing here is delayed for any other reason). */
const READY_STATES = ['wait', 'delayed'] as const;

export async function readyCount(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(...READY_STATES);
  return READY_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}

/**
 * Removes a job only if it is ready: Queue.remove answers 1 for an unknown id and refuses (0) an active, locked one.
 */
export async function removeWaiting(queue: Queue, jobId: string): Promise<boolean> {
  const state = await queue.getJobState(jobId);
  if (!(READY_STATES as readonly string[]).includes(state) && state !== 'waiting') return false;
  return (await queue.remove(jobId).catch(() => 0)) === 1;
}

/** Class ranks in the order `take` serves them: high, normal, low. */
export const RANKS_SERVED = [2, 1, 0] as const;

/** One plain (FIFO) BullMQ queue per task type and class: `<type>` for normal, `<type>#high`, `<type>#low`. */
const CLASS_SUFFIX = ['#low', '', '#high'] as const;
export const queueNameOf = (taskType: string, rank: number): string => taskType + CLASS_SUFFIX[rank as 0 | 1 | 2];
/** Task types never contain '#' (validateTaskType), so this is exact. */
export const taskTypeOfQueue = (queueName: string): string => queueName.split('#')[0]!;

/** BullMQ refuses integer-looking custom ids: a task's job id is `t<id>`. */
export const jobIdOf = (id: number): string => `t${id}`;

/** What every call on a closed broker meets (BullmqBroker, QueueSet). */
export const closedError = (): Error => new Error('BullmqBroker is closed: create a new one to reconnect');

export function withinMs<T>(timers: Timers, work: Promise<T>, boundMs: number, what: string): Promise<T> {
  let cancel: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    cancel = timers.after(
      boundMs,
      () => reject(new Error(`BullmqBroker.close: ${what} took over ${boundMs} ms (is Redis reachable?)`)),
      { keepAlive: true },
    );
  });
  return Promise.race([work, late]).finally(() => cancel?.());
}

export function jobOptions(task: BrokerTask): { jobId: string; attempts: number } {
  return {
    jobId: jobIdOf(task.id),
    attempts: Math.max(1, task.maxAttempts - task.attempt + 1),
  };
}

export function isLeaseLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && code < 0;
}

export function validateTaskType(taskType: string): void {
  if (typeof taskType !== 'string' || taskType.length === 0 || taskType.includes(':') || taskType.includes('#')) {
    throw new TypeError(
      `BullmqBroker: taskType ${JSON.stringify(taskType)} must be a non-empty string without ':' or '#' (it names BullMQ queues, '#' marks a class queue)`,
    );
  }
}

export function validateTask(task: BrokerTask): void {
  validateTaskType(task.taskType);
  if (!Number.isSafeInteger(task.id) || task.id < 0) {
    throw new RangeError(`BullmqBroker: task id ${task.id} must be a non-negative safe integer`);
  }
  if (!Number.isInteger(task.priority) || task.priority < 0 || task.priority > 2) {
    throw new RangeError(
      `BullmqBroker: priority ${task.priority} of task ${task.id} must be a class rank: 0 low, 1 normal, 2 high (PRIORITIES)`,
    );
  }
  if (
    !Number.isInteger(task.attempt) ||
    task.attempt < 1 ||
    !Number.isInteger(task.maxAttempts) ||
    task.maxAttempts < 1
  ) {
    throw new RangeError(
      `BullmqBroker: task ${task.id} has attempt ${task.attempt} of maxAttempts ${task.maxAttempts}: both must be integers ≥ 1`,
    );
  }
}

export function validateOptions(
  hasConnection: boolean,
  prefix: string,
  lockDurationMs: number,
  keepDead: number,
): void {
  if (!hasConnection) throw new TypeError('BullmqBroker: give url (redis://host:port) or connection (ioredis options)');
  if (prefix.length === 0) throw new TypeError('BullmqBroker: prefix must be non-empty (default swarmlet)');
  if (!Number.isInteger(lockDurationMs) || lockDurationMs < 10) {
    throw new RangeError(`BullmqBroker: lockDurationMs = ${lockDurationMs}, must be an integer ≥ 10 (default 30000)`);
  }
  if (!Number.isInteger(keepDead) || keepDead < 0)
    throw new RangeError(`BullmqBroker: keepDead = ${keepDead}, must be an integer ≥ 0`);
}

export interface BullmqBrokerOptions {
  /** `redis://host:port/db`; or give `connection`. */
  readonly url?: string;
  /** ioredis options (host, port, db, password…). The broker creates and owns its connection. */
  readonly connection?: RedisOptions;
  /** Key prefix; queues live at `<prefix>:<taskType>:…`. Default `swarmlet`. */
  readonly prefix?: string;
  /** How long a lease survives without renewal (renewed every half of it). Default 30 000. */
  readonly lockDurationMs?: number;
  /**
   * Ready tasks completions may fetch ahead per type (0: none), or a function of the type: an agent
   * gives how many its serving swarmlets take at a time, so nothing is held that they will not run
   * soon. Default 256.
   */
  readonly prefetch?: number | ((taskType: string) => number);
  /**
   * Tasks per job when enqueuing `ready` tasks of a type at once (1: one job per task, the default):
   * runs of consecutive ids are cut to this size. The director sizes it from the queue and the
   * serving swarmlets, so batches stay small enough to spread over every swarmlet.
   */
  readonly batch?: (taskType: string, ready: number) => number;
  /** Dead tasks kept per type in BullMQ's failed set. Default 10 000. */
  readonly keepDead?: number;
  /** Errors of background work (lock renewal, stalled checks); both retry on their next tick. */
  readonly onBackgroundError?: (error: Error) => void;
  /**
   * Time and timers: lock renewal, close's bounds, and the requeue's timestamp (BullMQ's: epoch time, compared in
   * Redis). Default: the epoch clock and Node's timers.
   */
  readonly environment?: Environment;
}
