import type { Redis } from 'ioredis';
import { PRIORITIES, type PriorityName } from '../../core/limits.js';
import type { AdmissionDecision, AdmissionLimits } from '../../schedule/admission.js';
import { admitJob } from '../hard-limits.js';
import type { JobBook } from './job-book.js';
import type { ClusterKeys, JobOutcome } from './protocol.js';

/**
 * Admission control in cluster mode: the director decides when it reads a job from the log, on the
 * predicted backlog (running jobs' micro-tasks not yet done × their type's predicted duration (the book's usage
 * model) ÷ serving swarmlets), with the same rule and limits as the embedded runtime (schedule/admission.ts).
 *
 * The serving count comes from heartbeats, which the log does not hold, so a replay could not
 * decide the same way. A refusal is therefore recorded by its log entry id (`P:refused`, with the
 * job's outcome, in one transaction) before the director moves past the entry; a replay skips
 * exactly those entries. Admitted jobs need no record. Keying by entry, not by job key, lets the
 * client submit the same key again later: a new entry, decided afresh.
 */
export class AdmissionGate {
  constructor(
    private readonly redis: Redis,
    private readonly k: Pick<ClusterKeys, 'refused' | 'job'>,
    private readonly limits: AdmissionLimits | undefined,
    private readonly outcomeTtlS: number,
  ) {}

  /** This log entry was refused before (by this director or a predecessor, even one with other limits). */
  async refusedBefore(entryId: string): Promise<boolean> {
    return (await this.redis.zscore(this.k.refused, entryId)) !== null;
  }

  /** Admission on the book's backlog now; undefined when admission control is off. */
  decide(rawJob: unknown, book: JobBook, servingSwarmlets: number): AdmissionDecision | undefined {
    if (!this.limits) return undefined;
    const predictedMs = (taskType: string): number => book.usage.predictedDurationMs(taskType) ?? 0;
    return admitJob(priorityOf(rawJob), book.outstandingByType(), predictedMs, servingSwarmlets, this.limits);
  }

  /** Records the refusal (entry id and the job's outcome, what its client waits for); returns the outcome. */
  async refuse(
    entryId: string,
    jobKey: string,
    decision: Extract<AdmissionDecision, { admitted: false }>,
  ): Promise<JobOutcome> {
    const outcome: JobOutcome = {
      status: 'refused',
      error: decision.reason,
      retryAfterMs: decision.retryAfterMs,
      wallMs: 0,
      microTasks: 0,
      duplicateResults: 0,
    };
    await this.redis
      .multi()
      .zadd(this.k.refused, entryMs(entryId), entryId)
      .set(this.k.job(jobKey), JSON.stringify(outcome), 'EX', this.outcomeTtlS)
      .exec();
    return outcome;
  }

  /** Refusals of entries trimmed from the log are never looked up again. */
  async forgetBefore(minEntryId: string): Promise<void> {
    await this.redis.zremrangebyscore(this.k.refused, '-inf', `(${entryMs(minEntryId)}`);
  }
}

const entryMs = (entryId: string): number => Number(entryId.split('-')[0]);

/** The job's class, read without parsing the whole job (a bad job is refused by the book later). */
function priorityOf(rawJob: unknown): PriorityName {
  const priority =
    typeof rawJob === 'object' && rawJob !== null ? (rawJob as { priority?: unknown }).priority : undefined;
  return typeof priority === 'string' && Object.hasOwn(PRIORITIES, priority) ? (priority as PriorityName) : 'normal';
}
