import type { PriorityName } from '../core/limits.js';

export type JobEnd = 'done' | 'failed' | 'cancelled';

/** How a finished job did against its SLA. */
export interface JobOutcome {
  readonly jobId: number;
  readonly name: string | undefined;
  readonly priority: PriorityName;
  readonly status: JobEnd;
  readonly wallMs: number;
  readonly deadlineMs: number | undefined;
  /** Undefined when the job had no deadline. */
  readonly deadlineMet: boolean | undefined;
}

/** What readers of a job (the API) see besides its outcome: when, what, how far each task type got, why it failed. */
export interface JobDetail {
  readonly submittedAtMs: number;
  readonly endedAtMs: number;
  /** The root task type (a DAG job: its tasks' types, joined by `,`). */
  readonly label: string;
  readonly byType: readonly { taskType: string; total: number; done: number }[];
  readonly error: string | undefined;
}

export interface Running {
  readonly name: string | undefined;
  readonly priority: PriorityName;
  readonly submittedAtMs: number;
  readonly deadlineMs: number | undefined;
}

const OUTCOMES_KEPT = 1_000;

/** Each job's wall time against its deadline (bounded: the last thousand). */
export class JobOutcomes {
  private readonly running = new Map<number, Running>();
  readonly finished: JobOutcome[] = [];
  /** The finished jobs' details, by id (the same thousand). */
  readonly details = new Map<number, JobDetail>();

  started(jobId: number, job: { name?: string; priority: PriorityName; deadlineMs?: number }, nowMs: number): void {
    this.running.set(jobId, {
      name: job.name,
      priority: job.priority,
      submittedAtMs: nowMs,
      deadlineMs: job.deadlineMs,
    });
  }

  /** A running job's name, class, submission time and deadline. */
  runningJob(jobId: number): Running | undefined {
    return this.running.get(jobId);
  }

  ended(jobId: number, status: JobEnd, nowMs: number, detail?: Omit<JobDetail, 'submittedAtMs' | 'endedAtMs'>): void {
    const job = this.running.get(jobId);
    if (!job) return;
    this.running.delete(jobId);
    const wallMs = nowMs - job.submittedAtMs;
    this.finished.push({
      jobId,
      name: job.name,
      priority: job.priority,
      status,
      wallMs,
      deadlineMs: job.deadlineMs,
      deadlineMet: job.deadlineMs === undefined ? undefined : status === 'done' && wallMs <= job.deadlineMs,
    });
    if (detail) this.details.set(jobId, { ...detail, submittedAtMs: job.submittedAtMs, endedAtMs: nowMs });
    if (this.finished.length > OUTCOMES_KEPT) this.details.delete(this.finished.shift()!.jobId);
  }
}
