import type { Dispatcher } from './dispatcher.js';
import type { JobTracker } from './jobs/job-tracker.js';
import { RESULT_ERROR, RESULT_OK, type WireResult } from './local/ipc.js';
import type { TypeStats } from './type-stats.js';
import { phaseOf, type UsageTracker } from './usage-tracker.js';

/** What recording a result updates. */
export interface ResultParts {
  readonly tracker: JobTracker;
  readonly stats: ReadonlyMap<string, TypeStats>;
  readonly usage: UsageTracker;
  readonly dispatcher: Dispatcher;
}

/**
 * One micro-task's result: usage feedback, then retry, completion or split; what it unblocks goes to `ready`.
 * `sinceStartMs`: when it came, from the run's start.
 */
export async function recordResult(
  parts: ResultParts,
  result: WireResult,
  sinceStartMs: number,
  ready: number[],
  completed: number[],
): Promise<void> {
  const [id, status, value, durationUs, usage] = result;
  const task = parts.tracker.tasks.get(id);
  if (!task) return void completed.push(id);
  const stats = parts.stats.get(task.taskType)!;
  stats.completed(durationUs / 1000);
  parts.usage.completed(
    task.taskType,
    task.id,
    task.label,
    durationUs / 1000,
    sinceStartMs,
    task.input,
    usage && { cpuUs: usage[0], rssKb: usage[1] },
    phaseOf(task.mode, status),
  );
  if (status === RESULT_ERROR)
    return parts.dispatcher.retryOrFail([id], value as Parameters<Dispatcher['retryOrFail']>[1]);
  completed.push(id);
  const newlyReady = status === RESULT_OK ? parts.tracker.completed(id, value) : parts.tracker.split(id, value);
  for (const next of newlyReady) ready.push(next.id);
}
