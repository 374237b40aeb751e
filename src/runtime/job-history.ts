import type { Job } from '../core/job.js';
import type { JobProfileView } from '../decide/snapshot.js';
import { updateJobProfile, type JobProfile, type TypeProfile } from '../predict/job-profile.js';
import type { History, HistoryStore } from './stores/history-store.js';

interface RunningJob {
  readonly key: string;
  readonly startedAtMs: number;
  readonly firstDemandAtMs: Map<string, number>;
  readonly peakSwarmlets: Map<string, number>;
}

/**
 * Records what each running job needs (when each task type first gets work, how many swarmlets
 * it peaks at), offers earlier runs' profiles to the loop, and folds each finished run into the
 * history store so the next run of the same job can pre-warm ahead of demand.
 */
export class JobHistory {
  private readonly running = new Map<number, RunningJob>();
  private readonly jobs: Map<string, JobProfile>;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;

  constructor(
    history: History,
    private readonly store: HistoryStore | undefined,
    private readonly warn: (message: string) => void,
  ) {
    this.jobs = new Map(Object.entries(history.jobs));
  }

  started(jobId: number, key: string, atMs: number): void {
    this.running.set(jobId, { key, startedAtMs: atMs, firstDemandAtMs: new Map(), peakSwarmlets: new Map() });
  }

  /** Micro-tasks of `taskType` became ready for job `jobId`. */
  demand(jobId: number, taskType: string, atMs: number): void {
    const job = this.running.get(jobId);
    if (job && !job.firstDemandAtMs.has(taskType)) job.firstDemandAtMs.set(taskType, atMs);
  }

  /**
   * Swarmlets serving each type now (called every tick), kept per running job for the types it has needed (its
   * profile keeps only those): every type for every job was jobs × types a tick, 25 of 71 s replaying an hour of 1,000
   * Azure functions as one-call jobs.
   */
  pool(servingByType: { get(taskType: string): number | undefined }): void {
    for (const job of this.running.values()) {
      for (const type of job.firstDemandAtMs.keys()) {
        const count = servingByType.get(type) ?? 0;
        if (count > (job.peakSwarmlets.get(type) ?? 0)) job.peakSwarmlets.set(type, count);
      }
    }
  }

  /** A job ended: a successful run updates its profile (a failed one says little about the next). */
  ended(jobId: number, succeeded: boolean): void {
    const job = this.running.get(jobId);
    this.running.delete(jobId);
    if (!job || !succeeded) return;
    const observed: TypeProfile[] = [...job.firstDemandAtMs].map(([taskType, atMs]) => ({
      taskType,
      firstDemandOffsetMs: atMs - job.startedAtMs,
      peakSwarmlets: job.peakSwarmlets.get(taskType) ?? 1,
    }));
    this.jobs.set(job.key, updateJobProfile(this.jobs.get(job.key), observed));
    this.scheduleSave();
  }

  /** One write at a time; jobs that end meanwhile are folded into the next write (many short jobs, few writes). */
  private scheduleSave(): void {
    if (!this.store || this.saveQueued) return;
    this.saveQueued = true;
    this.saving = this.saving
      .then(async () => {
        this.saveQueued = false;
        await this.store!.write({ version: 1, jobs: Object.fromEntries(this.jobs) });
      })
      .catch((error: unknown) => this.warn(`could not save history: ${String(error)}`));
  }

  /** Profiles of running jobs that have history. */
  profiles(): JobProfileView[] {
    const views: JobProfileView[] = [];
    for (const job of this.running.values()) {
      const profile = this.jobs.get(job.key);
      if (profile)
        views.push({ jobKey: job.key, startedAtMs: job.startedAtMs, runs: profile.runs, types: profile.types });
    }
    return views;
  }

  /** Resolves once every history write so far is on disk. */
  async flush(): Promise<void> {
    await this.saving;
  }
}

/** Which job "the same job" is across runs: its owner and name (or its root task type). */
export function jobKey(job: Job): string {
  return `${job.owner}/${job.name ?? ('type' in job ? job.type : 'dag')}`;
}
