import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { WarningLimiter } from '../../core/warning-limiter.js';
import { BundleRefusals } from './bundle-refusals.js';
import { CAP_BREAK_MEMORY_MS, CapBreaks } from './cap-breaks.js';
import type { ClusterPool } from './cluster-pool.js';
import type { ClusterKeys, LogEntry } from './protocol.js';

type PlacementEntry = Extract<LogEntry, { kind: 'refusal' | 'unrunnable' | 'fault' }>;

/**
 * Where agents would not run a type: bundles they refused and consent caps the type broke. Its swarmlets there are
 * withdrawn and placed elsewhere; a bundle every live agent refused fails its jobs through the log.
 */
export class PlacementFaults {
  /** Which agents refused which bundle. */
  readonly refusals = new BundleRefusals();
  /** Where types broke nodes' consent caps lately: kept off those nodes while another can take them. */
  private readonly capBreaks = new CapBreaks();
  liveNodeIds: ReadonlySet<string> = new Set();
  /** Bundles whose `unrunnable` entry is written and not yet read back from the log. */
  private readonly verdictsPending = new Set<string>();

  constructor(
    private readonly pool: ClusterPool,
    /** Each type's bundle hash as its latest job's module record gave it. */
    private readonly bundleHashes: ReadonlyMap<string, string>,
    private readonly redis: Redis,
    private readonly k: Pick<ClusterKeys, 'log'>,
    private readonly warnings: WarningLimiter,
    private readonly logger: Logger,
    private readonly nowMs: () => number,
  ) {}

  /** The agents that refused the type's current bundle. */
  refusedBy(taskType: string): ReadonlyMap<string, string> {
    return this.refusals.refusers(taskType, this.bundleHashes.get(taskType));
  }

  /** The live nodes the type is kept off for breaking their caps. */
  keptOut(taskType: string): Map<string, string> {
    return this.capBreaks.keptOut(taskType, this.nowMs(), this.liveNodeIds);
  }

  /** A refusal, unrunnable or fault entry read from the log (`live`: not a replay, so acted on). */
  applied(entry: PlacementEntry, live: boolean): void {
    if (entry.kind === 'refusal') {
      this.refusals.record(entry);
      if (live) this.withdrawRefused(entry);
    } else if (entry.kind === 'unrunnable') {
      this.verdictsPending.delete(`${entry.taskType}\n${entry.hash}`);
      if (live)
        this.logger.error(
          { taskType: entry.taskType, hash: entry.hash },
          `task type ${entry.taskType}: bundle ${entry.hash} refused by every live agent (${entry.refusals.map((r) => r.nodeId).join(', ')}): its jobs fail`,
        );
    } else if (live && entry.capBreak) this.moveAfterCapBreak(entry);
  }

  /** An agent refused a bundle: said (rate-limited per type), and its swarmlets of the type are wanted elsewhere. */
  private withdrawRefused(refusal: Extract<LogEntry, { kind: 'refusal' }>): void {
    const { nodeId, taskType, hash, reason } = refusal;
    this.warnings.warn(
      `refusal:${taskType}:${nodeId}`,
      `bundle of ${taskType} (${hash}) refused by agent ${nodeId}: ${reason}`,
      { taskType, nodeId, hash },
    );
    const withdrawn = this.pool.withdraw(nodeId, taskType);
    if (withdrawn.length > 0)
      this.logger.info(
        { taskType, nodeId, swarmletIds: withdrawn },
        `withdrawn: ${withdrawn.join(', ')} (${taskType}) from ${nodeId}, which refused its bundle; placed elsewhere`,
      );
  }

  /**
   * A type broke a node's consent caps: its swarmlets there are withdrawn and the node is kept out of its placements
   * for a while (cap-breaks.ts), so the retried micro-task runs elsewhere; unless no other live node is left for it.
   */
  private moveAfterCapBreak(fault: Extract<LogEntry, { kind: 'fault' }>): void {
    const { nodeId, taskType, reason } = fault;
    this.capBreaks.record(nodeId, taskType, reason, this.nowMs());
    if (!this.capBreaks.keptOut(taskType, this.nowMs(), this.liveNodeIds).has(nodeId)) {
      this.logger.warn(
        { taskType, nodeId },
        `${taskType} broke the consent caps of ${nodeId} (${reason}); no other live node to move it to`,
      );
      return;
    }
    const withdrawn = this.pool.withdraw(nodeId, taskType);
    this.logger.warn(
      { taskType, nodeId, swarmletIds: withdrawn },
      `${taskType} broke the consent caps of ${nodeId} (${reason}): ${withdrawn.length > 0 ? `withdrawn: ${withdrawn.join(', ')}; ` : ''}placed elsewhere for ${CAP_BREAK_MEMORY_MS / 1000} s`,
    );
  }

  /**
   * A bundle running jobs need that every live agent refused will never run: an `unrunnable` entry goes to the log,
   * and applying it fails those jobs (so a replay fails them at the same point).
   */
  async failRefusedEverywhere(runningTaskTypes: Iterable<string>, liveNodeIds: Iterable<string>): Promise<void> {
    const live = [...liveNodeIds];
    for (const taskType of runningTaskTypes) {
      const hash = this.bundleHashes.get(taskType);
      const bundle = `${taskType}\n${hash}`;
      if (hash === undefined || this.verdictsPending.has(bundle)) continue;
      const refusals = this.refusals.refusedByEveryLiveNode(taskType, hash, live);
      if (refusals === undefined) continue;
      const entry: LogEntry = { kind: 'unrunnable', taskType, hash, refusals: [...refusals] };
      this.verdictsPending.add(bundle); // before the write: the log reader may apply it before the write returns
      await this.redis.xadd(this.k.log, '*', 'e', JSON.stringify(entry)).catch((error: unknown) => {
        this.verdictsPending.delete(bundle); // tried again next tick
        throw error;
      });
    }
  }
}
