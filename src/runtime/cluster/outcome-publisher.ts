import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { ClusterKeys, JobOutcome } from './protocol.js';

/** How long a job's outcome stays readable in Redis. */
export const OUTCOME_TTL_S = 24 * 3600;

/** Job outcomes: stored for clients (`P:job:<key>`), announced on `P:job-done`, and said in the director's log. */
export class OutcomePublisher {
  constructor(
    private readonly redis: Redis,
    private readonly k: Pick<ClusterKeys, 'job' | 'jobDone'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores a job's outcome (unless `stored` already) and tells waiting clients. A replay stores only
   * where no outcome is: the one stored live stands, even if the replay now reads a module record
   * that changed since (a later run of the same key has overwritten an earlier one live).
   */
  async publish(jobKey: string, outcome: JobOutcome, how: 'store' | 'replayed' | 'stored'): Promise<void> {
    const key = this.k.job(jobKey);
    if (how === 'store') await this.redis.set(key, JSON.stringify(outcome), 'EX', OUTCOME_TTL_S);
    if (how === 'replayed') await this.redis.set(key, JSON.stringify(outcome), 'EX', OUTCOME_TTL_S, 'NX');
    await this.redis.publish(this.k.jobDone, jobKey);
    if (outcome.status === 'refused')
      return this.logger.warn(
        { jobId: jobKey, status: outcome.status },
        `job ${jobKey}: refused by admission control: ${outcome.error}`,
      );
    this.logger.info(
      { jobId: jobKey, status: outcome.status, microTasks: outcome.microTasks, wallMs: outcome.wallMs },
      `job ${jobKey}: ${outcome.status} after ${outcome.microTasks} micro-task(s) in ${outcome.wallMs} ms${outcome.duplicateResults > 0 ? ` (${outcome.duplicateResults} duplicate result(s) ignored)` : ''}`,
    );
  }
}
