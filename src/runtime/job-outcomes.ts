import type { PriorityName } from '../core/limits.js';

/** How a finished job did against its SLA. */
export interface JobOutcome {
  readonly jobId: number;
  readonly name: string | undefined;
  readonly priority: PriorityName;
  readonly status: 'done' | 'failed';
  readonly wallMs: number;
  readonly deadlineMs: number | undefined;
  /** Undefined when the job had no deadline. */
  readonly deadlineMet: boolean | undefined;
}

interface Running {
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

  started(jobId: number, job: { name?: string; priority: PriorityName; deadlineMs?: number }, nowMs: number): void {
    this.running.set(jobId, {
      name: job.name,
      priority: job.priority,
      submittedAtMs: nowMs,
      deadlineMs: job.deadlineMs,
    });
  }

  ended(jobId: number, status: 'done' | 'failed', nowMs: number): void {
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
    if (this.finished.length > OUTCOMES_KEPT) this.finished.shift();
  }
}
