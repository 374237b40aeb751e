import type { JobTracker } from './jobs/job-tracker.js';
import type { Provider } from './provider.js';
import type { SwarmletRecord } from './swarmlet-record.js';

/** The job of the micro-task with this label the swarmlet holds or just ran (a line may come after its result). */
export function jobOfLabel(
  swarmlet: SwarmletRecord | undefined,
  tracker: JobTracker,
  label: string,
): number | undefined {
  for (const id of swarmlet?.inFlight ?? []) {
    const task = tracker.tasks.get(id);
    if (task?.label === label) return task.jobId;
  }
  return swarmlet?.recentJobOf(label);
}

/** For fault tests: the swarmlets and their states. */
export function swarmletStates(
  swarmlets: Iterable<SwarmletRecord>,
  provider: Provider,
): { id: string; taskType: string; state: string; inFlight: number; pid: number | undefined }[] {
  return [...swarmlets].map((s) => ({
    id: s.id,
    taskType: s.taskType,
    state: s.state,
    inFlight: s.inFlight.size,
    pid: s.state === 'stopped' ? undefined : provider.pidOf?.(s.id),
  }));
}
