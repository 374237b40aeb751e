import { JobCancelledError } from '../core/errors.js';
import type { PriorityName } from '../core/limits.js';
import type { JobRecord } from './jobs/job-tracker.js';
import type { JobDetail, JobEnd, JobOutcomes } from './job-outcomes.js';

/** One job as the API shows it: where it stands and how far each of its task types got. */
export interface JobView {
  readonly id: number;
  readonly label: string;
  readonly name: string | undefined;
  readonly priority: PriorityName;
  readonly state: 'running' | JobEnd;
  readonly submittedAtMs: number;
  readonly endedAtMs: number | undefined;
  readonly wallMs: number;
  readonly deadlineMs: number | undefined;
  readonly deadlineMet: boolean | undefined;
  readonly done: number;
  readonly total: number;
  readonly byType: readonly { taskType: string; total: number; done: number; running: number }[];
  readonly error: string | undefined;
}

export function jobEnd(record: JobRecord): JobEnd {
  if (record.status === 'done') return 'done';
  return record.error instanceof JobCancelledError ? 'cancelled' : 'failed';
}

/** What a finished job leaves for readers (its micro-tasks are forgotten when it ends). */
export function jobDetail(record: JobRecord, label: string): Omit<JobDetail, 'submittedAtMs' | 'endedAtMs'> {
  return {
    label,
    byType: [...record.byType].map(([taskType, { total, done }]) => ({ taskType, total, done })),
    error: record.status === 'done' ? undefined : record.error?.message,
  };
}

/** Running jobs (live counts) then finished ones (as they ended), newest first. */
export function jobViews(
  pending: Iterable<{ readonly record: JobRecord; readonly label: string }>,
  outcomes: JobOutcomes,
  nowMs: number,
): JobView[] {
  const views: JobView[] = [];
  for (const { record, label } of pending) {
    const info = outcomes.runningJob(record.id);
    if (!info || record.status !== 'running') continue; // ended this turn: settles into the finished list
    views.push({
      id: record.id,
      label,
      name: info.name,
      priority: info.priority,
      state: 'running',
      submittedAtMs: info.submittedAtMs,
      endedAtMs: undefined,
      wallMs: nowMs - info.submittedAtMs,
      deadlineMs: info.deadlineMs,
      deadlineMet: info.deadlineMs === undefined || nowMs - info.submittedAtMs <= info.deadlineMs ? undefined : false,
      done: record.done,
      total: record.created,
      byType: [...record.byType].map(([taskType, counts]) => ({ taskType, ...counts })),
      error: undefined,
    });
  }
  for (const outcome of outcomes.finished) {
    const detail = outcomes.details.get(outcome.jobId);
    if (!detail) continue;
    const byType = detail.byType.map((t) => ({ ...t, running: 0 }));
    views.push({
      id: outcome.jobId,
      label: detail.label,
      name: outcome.name,
      priority: outcome.priority,
      state: outcome.status,
      submittedAtMs: detail.submittedAtMs,
      endedAtMs: detail.endedAtMs,
      wallMs: outcome.wallMs,
      deadlineMs: outcome.deadlineMs,
      deadlineMet: outcome.deadlineMet,
      done: byType.reduce((sum, t) => sum + t.done, 0),
      total: byType.reduce((sum, t) => sum + t.total, 0),
      byType,
      error: detail.error,
    });
  }
  return views.sort((a, b) => b.id - a.id);
}
