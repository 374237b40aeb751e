import type { JobRecord, JobTracker } from './job-tracker.js';

/**
 * Which jobs a failure belongs to, so it is charged to them and no others: the jobs of some
 * micro-tasks, the jobs that still need a task type, and micro-tasks no swarmlet will ever serve.
 */

/** The jobs of these micro-tasks (those the tracker still knows). */
export function jobsOf(tracker: JobTracker, taskIds: Iterable<number>): number[] {
  const jobIds: number[] = [];
  for (const id of taskIds) {
    const jobId = tracker.tasks.get(id)?.jobId;
    if (jobId !== undefined) jobIds.push(jobId);
  }
  return jobIds;
}

/** Of these running jobs, those with a micro-task of `taskType` not yet done (rare: a scan of their micro-tasks). */
export function jobsNeeding(tracker: JobTracker, jobs: Iterable<JobRecord>, taskType: string): number[] {
  const needs = (job: JobRecord) =>
    job.idBlocks.some(([firstId, count]) => {
      for (let id = firstId; id < firstId + count; id++) {
        const task = tracker.tasks.get(id);
        if (task?.taskType === taskType && task.status !== 'done' && task.status !== 'failed') return true;
      }
      return false;
    });
  return [...jobs].filter(needs).map((job) => job.id);
}

/**
 * Ready micro-tasks a swarmlet will serve; the jobs of the others (`unserved` says why: a fixed
 * split that gives their type 0) fail, instead of waiting for ever.
 */
export function refuseUnserved(
  tracker: JobTracker,
  ready: number[],
  unserved: ((taskType: string) => Error | undefined) | undefined,
): number[] {
  if (!unserved) return ready;
  return ready.filter((id) => {
    const task = tracker.tasks.get(id);
    const refusal = task && unserved(task.taskType);
    if (refusal) tracker.abort(task.jobId, refusal);
    return refusal === undefined;
  });
}
