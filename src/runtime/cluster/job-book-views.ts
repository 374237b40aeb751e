import type { Job } from '../../core/job.js';
import type { JobRecord } from '../jobs/job-tracker.js';
import type { JobOutcome } from './protocol.js';

/** A job in the director's book (job-book.ts): the tracker's record and what the client and the API see of it. */
export interface BookedJob {
  readonly jobKey: string;
  readonly record: JobRecord;
  /** As submitted: for the API's job list. */
  readonly label: string;
  readonly name: string | undefined;
  readonly priority: Job['priority'];
  readonly deadlineMs: number | undefined;
  readonly submittedAtMs: number;
  microTasks: number;
  duplicateResults: number;
  /** This job's micro-tasks per type, created and finished (its own progress, apart from other jobs'). */
  readonly byType: Map<string, { done: number; total: number }>;
  /** Where counting into `byType` stopped: block index and ids of that block (blocks only grow, at the end). */
  countedBlock: number;
  countedInBlock: number;
  /** Micro-tasks handed to the broker and not reported yet (id → type): what to cancel if the job fails. */
  readonly handed: Map<number, string>;
  /** `handed` counted per type, kept with it: the job list's `running`, read several times a second by the API. */
  readonly handedByType: Map<string, number>;
  /** The task types whose bundles the job was submitted with: a refusal of one fails it. */
  readonly taskTypes: ReadonlySet<string>;
  /** What went wrong and was retried, oldest first (at most MAX_JOB_FAULTS), and how many more there were. */
  readonly faults: string[];
  faultsLeftOut: number;
}

/** One cluster job as the API lists it (the API's JobView, with the job key as its id). */
export interface BookJobView {
  readonly id: string;
  readonly label: string;
  readonly name?: string;
  readonly priority: Job['priority'];
  readonly state: 'running' | 'done' | 'failed' | 'cancelled';
  readonly submittedAtMs: number;
  readonly endedAtMs?: number;
  readonly wallMs: number;
  readonly deadlineMs?: number;
  readonly deadlineMet?: boolean;
  readonly done: number;
  readonly total: number;
  readonly byType: readonly { taskType: string; total: number; done: number; running: number }[];
  readonly error?: string;
}

/** Ended jobs kept for the list: enough to follow recent work, bounded for a director that runs for months. */
export const ENDED_JOBS_KEPT = 200;

/** What the job list calls a job: its name, else its task types. */
export function jobLabel(job: Job, jobKey: string): string {
  if (job.name !== undefined) return job.name;
  const types = 'tasks' in job ? [...new Set(job.tasks.map((t) => t.type))].join(',') : job.type;
  return types || jobKey;
}

/**
 * A running job. `running` per type counts micro-tasks handed to the queues and not reported yet: waiting in BullMQ or
 * running on a swarmlet (the director does not see which until a result comes).
 */
export function runningView(booked: BookedJob, nowMs: number): BookJobView {
  const byType = [...booked.byType].map(([taskType, c]) => ({
    taskType,
    total: c.total,
    done: c.done,
    running: booked.handedByType.get(taskType) ?? 0,
  }));
  const wallMs = Math.max(0, nowMs - booked.submittedAtMs);
  return withoutUndefined({
    ...common(booked),
    state: 'running' as const,
    wallMs,
    deadlineMet: booked.deadlineMs !== undefined && wallMs > booked.deadlineMs ? false : undefined,
    done: sum(byType, 'done'),
    total: sum(byType, 'total'),
    byType,
  });
}

/** The last ENDED_JOBS_KEPT jobs that ended, as they ended. */
export class EndedJobs {
  private readonly list: BookJobView[] = [];

  add(booked: BookedJob, outcome: JobOutcome, endedAtMs: number): void {
    const byType = [...booked.byType].map(([taskType, c]) => ({ taskType, total: c.total, done: c.done, running: 0 }));
    const state = outcome.status === 'refused' ? 'failed' : outcome.status;
    this.list.push(
      withoutUndefined({
        ...common(booked),
        state,
        endedAtMs,
        wallMs: outcome.wallMs,
        deadlineMet: booked.deadlineMs === undefined ? undefined : outcome.wallMs <= booked.deadlineMs,
        done: sum(byType, 'done'),
        total: sum(byType, 'total'),
        byType,
        error: outcome.error,
      }),
    );
    if (this.list.length > ENDED_JOBS_KEPT) this.list.shift();
  }

  /** Newest first. */
  views(): BookJobView[] {
    return [...this.list].reverse();
  }

  /** The latest run of the key (a key may run again once its outcome expired). */
  find(jobKey: string): BookJobView | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.id === jobKey) return this.list[i];
    return undefined;
  }
}

function common(booked: BookedJob) {
  return {
    id: booked.jobKey,
    label: booked.label,
    name: booked.name,
    priority: booked.priority,
    submittedAtMs: booked.submittedAtMs,
    deadlineMs: booked.deadlineMs,
  };
}

function sum(byType: readonly { done: number; total: number }[], key: 'done' | 'total'): number {
  return byType.reduce((total, t) => total + t[key], 0);
}

/** JSON drops undefined anyway; the API's schemas say optional, not undefined. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
