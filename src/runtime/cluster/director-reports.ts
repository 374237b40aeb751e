import type { Redis } from 'ioredis';
import type { Action } from '../../core/actions.js';
import type { LogFields, Logger } from '../../core/logger.js';
import type { Snapshot } from '../../decide/snapshot.js';
import type { NodeTransition, PlacementDecision } from './cluster-pool.js';
import type { JobProgress } from './job-book.js';
import type { ClusterKeys, ClusterProgress, NodeStateRecord } from './protocol.js';
import { failedStep, type RedisType } from './redis-repair.js';

const PROGRESS_TTL_MS = 60_000;
const DECISIONS_KEPT = 100;

/** Runs `step` on a key the cluster can do without; a key of the wrong type there is deleted and said once. */
export type Repairing = <T>(key: string, type: RedisType, loses: string, step: () => Promise<T>) => Promise<T>;

/** What each tick writes to Redis for reports and clients: auctions, node states, jobs' progress. */
export class DirectorReports {
  constructor(
    private readonly redis: Redis,
    private readonly k: Pick<ClusterKeys, 'decisions' | 'nodeStates' | 'progress'>,
    private readonly logger: Logger,
    private readonly repairing: Repairing,
  ) {}

  /** The latest auctions, newest first, bounded. */
  async decisions(decisions: readonly PlacementDecision[]): Promise<void> {
    if (decisions.length === 0) return;
    await this.repairing(this.k.decisions, 'list', 'earlier auctions, a report only', () =>
      this.redis
        .multi()
        .lpush(this.k.decisions, ...decisions.map((d) => JSON.stringify(d)))
        .ltrim(this.k.decisions, 0, DECISIONS_KEPT - 1)
        .exec()
        .then(failedStep),
    );
  }

  /** Each node lifecycle edge goes to the log and to `P:node-states` (the node's latest state, for reports). */
  async nodeTransitions(transitions: readonly NodeTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    const latest: Record<string, string> = {};
    for (const { nodeId, from, to, reason, atMs } of transitions) {
      this.logger.info(
        { nodeId, from: from ?? 'unseen', to },
        `node ${nodeId}: ${from ?? 'unseen'} → ${to}: ${reason}`,
      );
      latest[nodeId] = JSON.stringify({ state: to, sinceMs: atMs, reason } satisfies NodeStateRecord);
    }
    await this.repairing(this.k.nodeStates, 'hash', 'earlier node states, a report only', () =>
      this.redis.hset(this.k.nodeStates, latest),
    );
  }

  /** Each running job's progress per task type, with the swarmlets serving it, for its client. */
  async progress(jobs: readonly JobProgress[], snapshot: Snapshot, nowMs: number): Promise<void> {
    if (jobs.length === 0) return;
    const serving = new Map<string, number>();
    for (const s of snapshot.swarmlets) serving.set(s.taskType, (serving.get(s.taskType) ?? 0) + 1);
    const pipeline = this.redis.pipeline();
    for (const { jobKey, taskTypes, faults } of jobs) {
      const progress: ClusterProgress = {
        atMs: nowMs,
        taskTypes: taskTypes.map((t) => ({ ...t, swarmlets: serving.get(t.taskType) ?? 0 })),
        ...(faults.length > 0 && { faults: [...faults] }),
      };
      pipeline.set(this.k.progress(jobKey), JSON.stringify(progress), 'PX', PROGRESS_TTL_MS);
    }
    await pipeline.exec();
  }
}

/** An action's ids as log fields (the swarmlet it acts on, the task type it serves or becomes). */
export function actionFields(action: Action): LogFields {
  const taskType =
    action.kind === 'specialize' ? action.toTaskType : 'taskType' in action ? action.taskType : undefined;
  return {
    action: action.kind,
    ...('swarmletId' in action && action.swarmletId !== undefined && { swarmletId: action.swarmletId }),
    ...(taskType !== undefined && { taskType }),
  };
}
