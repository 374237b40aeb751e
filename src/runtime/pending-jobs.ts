import type { JobHistory } from './job-history.js';
import type { JobOutcomes } from './job-outcomes.js';
import { jobDetail, jobEnd } from './job-views.js';
import type { JobRecord } from './jobs/job-tracker.js';

interface PendingJob {
  readonly record: JobRecord;
  readonly label: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

/** The jobs whose promises wait, settled when the tracker ends them. */
export class PendingJobs {
  private readonly pending = new Map<number, PendingJob>();
  /** Jobs the tracker ended since the last settle (scanning every pending job per result was quadratic). */
  private endedJobs: number[] = [];

  constructor(
    private readonly history: JobHistory,
    private readonly outcomes: JobOutcomes,
    private readonly nowMs: () => number,
  ) {}

  /** A job's promise, settled with its output or its failure. */
  add(record: JobRecord, label: string): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => this.pending.set(record.id, { record, label, resolve, reject }));
  }

  /** The tracker ended this job: it is settled at the next `settle`. */
  ended(jobId: number): void {
    this.endedJobs.push(jobId);
  }

  has(jobId: number): boolean {
    return this.pending.has(jobId);
  }

  ids(): Iterable<number> {
    return this.pending.keys();
  }

  /** The jobs waiting, with their labels (for the API's views). */
  jobs(): Iterable<{ readonly record: JobRecord; readonly label: string }> {
    return this.pending.values();
  }

  records(): JobRecord[] {
    return [...this.pending.values()].map((job) => job.record);
  }

  /** Each job ended since the last call: recorded in the history and outcomes, its promise settled. */
  settle(): void {
    const ended = this.endedJobs;
    this.endedJobs = [];
    for (const id of ended) {
      const job = this.pending.get(id);
      if (!job) continue;
      this.pending.delete(id);
      this.history.ended(id, job.record.status === 'done');
      this.outcomes.ended(id, jobEnd(job.record), this.nowMs(), jobDetail(job.record, job.label));
      if (job.record.status === 'done') job.resolve(job.record.output);
      else job.reject(job.record.error!);
    }
  }

  /** Every job waiting fails with `message` (the swarm stopped). */
  rejectAll(message: string): void {
    for (const job of this.pending.values()) job.reject(new Error(message));
    this.pending.clear();
  }
}
