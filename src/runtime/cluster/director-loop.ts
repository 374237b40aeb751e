import type { Action } from '../../core/actions.js';
import { LIMITS } from '../../core/limits.js';
import type { Policy } from '../../decide/policy.js';
import type { Snapshot } from '../../decide/snapshot.js';
import { initialLoopState, step, type LoopState } from '../../decide/step.js';
import { ClusterPool, type ClusterPoolOptions, type LiveNode } from './cluster-pool.js';
import { JobBook } from './job-book.js';

export interface DirectorLoopOptions {
  readonly policy: Policy;
  /** The tick's period: the window each tick's load covers. */
  readonly tickMs: number;
  readonly maxAttempts: number;
  readonly pool: ClusterPoolOptions;
}

/** What one tick decided: each action with what carrying it out on desired state did. */
export interface DirectorDecision {
  readonly snapshot: Snapshot;
  readonly outcomes: readonly { readonly action: Action; readonly outcome: string }[];
}

/**
 * The director's decisions without Redis: the jobs (JobBook, rebuilt from log entries), the desired swarmlets per
 * node (ClusterPool: auction, node lifecycle, failover) and the policy's step on a snapshot of both. The Redis
 * director (director.ts) and the simulated cluster (sim/cluster) drive this same object; they differ only in where
 * heartbeats and queue depths come from and where desired states and micro-tasks go.
 */
export class DirectorLoop {
  readonly book: JobBook;
  readonly pool: ClusterPool;
  private loopState: LoopState;
  /** Swarmlets serving per task type at the last tick (admission's parallelism, lease batch spreading). */
  private serving = new Map<string, number>();

  constructor(private readonly options: DirectorLoopOptions) {
    this.book = new JobBook(LIMITS, options.maxAttempts);
    this.pool = new ClusterPool(options.pool);
    this.loopState = initialLoopState(options.policy);
  }

  /** Swarmlets idle or busy on the type at the last tick. */
  servingOf(taskType: string): number {
    return this.serving.get(taskType) ?? 0;
  }

  /** Swarmlets idle or busy at the last tick, over all types. */
  servingTotal(): number {
    let total = 0;
    for (const n of this.serving.values()) total += n;
    return total;
  }

  /**
   * observe → decide → act on desired state: the snapshot from the live nodes' heartbeats and each type's queue
   * depth, the policy's step on it, each action carried out by the pool (a replicate is an auction). Call after
   * `pool.observe` for the same nodes.
   */
  decide(nodes: ReadonlyMap<string, LiveNode>, depths: ReadonlyMap<string, number>, nowMs: number): DirectorDecision {
    const snapshot = this.snapshot(nodes, depths, nowMs);
    this.serving = new Map();
    for (const { taskType, state } of snapshot.swarmlets)
      if (state === 'idle' || state === 'busy') this.serving.set(taskType, (this.serving.get(taskType) ?? 0) + 1);
    const { state, decision } = step(this.options.policy, this.loopState, snapshot);
    this.loopState = state;
    return { snapshot, outcomes: this.act(decision.actions, nodes, nowMs) };
  }

  /**
   * Carries out the actions on desired state: first those that free or move swarmlets, then each type's replicates in
   * one auction (pool.replicate), and its shadows (prewarms of a new swarmlet) in another. Outcomes in the actions'
   * order.
   */
  private act(
    actions: readonly Action[],
    nodes: ReadonlyMap<string, LiveNode>,
    nowMs: number,
  ): { action: Action; outcome: string }[] {
    const outcomes: string[] = [];
    const replicas = new Map<string, number[]>();
    const shadows = new Map<string, number[]>();
    actions.forEach((action, i) => {
      if (action.kind === 'replicate') replicas.set(action.taskType, [...(replicas.get(action.taskType) ?? []), i]);
      else if (action.kind === 'prewarm' && action.swarmletId === undefined)
        shadows.set(action.taskType, [...(shadows.get(action.taskType) ?? []), i]);
      else outcomes[i] = this.pool.act(action, nodes, nowMs);
    });
    for (const [group, shadow] of [
      [replicas, false],
      [shadows, true],
    ] as const) {
      for (const [taskType, at] of group) {
        const placed = this.pool.replicate(taskType, at.length, nodes, nowMs, shadow);
        at.forEach((i, k) => (outcomes[i] = placed[k]!));
      }
    }
    return actions.map((action, i) => ({ action, outcome: outcomes[i]! }));
  }

  private snapshot(nodes: ReadonlyMap<string, LiveNode>, depths: ReadonlyMap<string, number>, nowMs: number): Snapshot {
    const swarmlets = this.pool.views(nodes, nowMs);
    const inFlight = new Map<string, number>();
    for (const s of swarmlets) inFlight.set(s.taskType, (inFlight.get(s.taskType) ?? 0) + s.inFlight);
    const running = runningFor(nodes);
    const load = [...this.book.stats.values()].map((stats) =>
      stats.closeWindow(
        depths.get(stats.taskType) ?? 0,
        inFlight.get(stats.taskType) ?? 0,
        this.book.tracker.counts.get(stats.taskType)?.blocked ?? 0,
        running.get(stats.taskType) ?? 0,
        this.book.usage.predictedDurationMs(stats.taskType),
        this.book.tracker.successorTypes.get(stats.taskType),
        this.book.usage.durationErrorRatio(stats.taskType),
      ),
    );
    return { nowMs, windowMs: this.options.tickMs, limits: this.pool.limits(nodes), swarmlets, load, jobProfiles: [] };
  }
}

/**
 * Per type, how long its oldest micro-task in flight has run, as agents last reported it (as old as a heartbeat): a
 * lower bound on its duration before the first one ends, as the embedded loop measures it.
 */
function runningFor(nodes: ReadonlyMap<string, LiveNode>): Map<string, number> {
  const longest = new Map<string, number>();
  for (const { heartbeat } of nodes.values())
    for (const { taskType, busyForMs } of heartbeat.swarmlets)
      if (busyForMs !== undefined && busyForMs > (longest.get(taskType) ?? 0)) longest.set(taskType, busyForMs);
  return longest;
}
