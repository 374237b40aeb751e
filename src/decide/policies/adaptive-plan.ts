import type { Action, Unplaced } from '../../core/actions.js';
import { drainMs, formatMs, type TypeDemand } from '../demand.js';
import { liveSwarmlets, memoryInUseMb, type Snapshot, type SwarmletView } from '../snapshot.js';
import type { AdaptiveParams } from './adaptive-params.js';
import type { KeepWarm } from './keep-warm.js';

/** The actions of one tick, and the counts they change, so later rules see earlier ones. */
export class TickPlan {
  readonly actions: Action[] = [];
  readonly unplaced: Unplaced[] = [];
  private readonly used = new Set<string>();
  private readonly counts = new Map<string, number>();
  /** Per type, the swarmlets that may be reshaped this tick, best first (built on first use; used ones skipped). */
  private readonly movables = new Map<string, SwarmletView[]>();
  private live: number;
  private memoryMb: number;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly params: AdaptiveParams,
    private readonly waitingSinceMs: ReadonlyMap<string, number>,
    private readonly keepWarm: KeepWarm,
    /** Types with no measurement and no hint: how long they take is unknown until one runs. */
    private readonly unmeasured: ReadonlySet<string> = new Set(),
  ) {
    this.live = liveSwarmlets(snapshot).length;
    this.memoryMb = memoryInUseMb(snapshot);
  }

  usedSwarmlets(): ReadonlySet<string> {
    return this.used;
  }

  add(actions: readonly Action[]): void {
    for (const action of actions) {
      this.actions.push(action);
      if ('swarmletId' in action && action.swarmletId !== undefined && action.kind !== 'prewarm')
        this.used.add(action.swarmletId);
    }
  }

  private count(demand: TypeDemand): number {
    return this.counts.get(demand.taskType) ?? demand.swarmlets.length;
  }

  /** Greedy min-max drain time: give a swarmlet to the type whose backlog would take longest to drain. */
  rebalance(demands: Map<string, TypeDemand>): void {
    const refused = new Map<string, TypeDemand>();
    for (let round = 0; round < this.snapshot.limits.maxSwarmlets * 2; round++) {
      const served = this.needyTypes(demands).find((needy) => {
        if (this.replicate(needy) || this.specializeInto(needy, demands)) return true;
        refused.set(needy.taskType, needy);
        return false;
      });
      if (!served) break;
      refused.delete(served.taskType);
    }
    for (const needy of refused.values())
      this.unplaced.push({ taskType: needy.taskType, wanted: 1, reason: this.whyRefused() });
  }

  /** Types another swarmlet would help, longest drain first. */
  private needyTypes(demands: Map<string, TypeDemand>): TypeDemand[] {
    const needy: { demand: TypeDemand; drain: number }[] = [];
    for (const demand of demands.values()) {
      const count = this.count(demand);
      if (demand.backlog <= count) continue; // more swarmlets than micro-tasks: another one cannot help
      const drain = drainMs(demand.workMs, count);
      if (count === 0 || drain > this.params.replicateAboveMs) needy.push({ demand, drain });
    }
    return needy
      .sort((a, b) => b.drain - a.drain || a.demand.taskType.localeCompare(b.demand.taskType))
      .map((n) => n.demand);
  }

  private replicate(demand: TypeDemand): boolean {
    const { limits } = this.snapshot;
    if (this.live >= limits.maxSwarmlets || this.memoryMb + limits.swarmletMemoryMb > limits.maxMemoryMb) return false;
    const count = this.count(demand);
    this.actions.push({
      kind: 'replicate',
      taskType: demand.taskType,
      reason: `${demand.backlog} queued, ~${formatMs(drainMs(demand.workMs, count))} of work per swarmlet with ${count}`,
    });
    this.counts.set(demand.taskType, count + 1);
    this.live += 1;
    this.memoryMb += limits.swarmletMemoryMb;
    return true;
  }

  /** Takes a swarmlet from the type that misses it least, if that clearly shortens the longest drain. */
  private specializeInto(needy: TypeDemand, demands: Map<string, TypeDemand>): boolean {
    const needyDrain = drainMs(needy.workMs, this.count(needy));
    // The donor is the type that misses a swarmlet least; only then which of its swarmlets (a scan per type per round
    // was quadratic in the pool: 3.4 s a tick at 10,000 swarmlets).
    let best: { demand: TypeDemand; drainAfter: number } | undefined;
    for (const demand of demands.values()) {
      if (demand === needy || this.count(demand) === 0 || !this.hasMovable(demand)) continue;
      const drainAfter = drainMs(demand.workMs, this.count(demand) - 1);
      if (!best || drainAfter < best.drainAfter) best = { demand, drainAfter };
    }
    if (!best || best.drainAfter * (1 + this.params.moveMargin) >= needyDrain) return false;
    const donor = { ...best, swarmlet: this.movable(best.demand, needy.taskType)! };
    const starting = this.count(needy) === 0 ? this.batchReady(needy) : `~${formatMs(needyDrain)} of work per swarmlet`;
    if (starting === undefined && donor.drainAfter > 0) return false; // let its queue grow into a batch first
    this.actions.push({
      kind: 'specialize',
      swarmletId: donor.swarmlet.id,
      fromTaskType: donor.demand.taskType,
      toTaskType: needy.taskType,
      reason: `${needy.taskType} has ${starting ?? `${needy.backlog} queued and no swarmlet`}; ${donor.demand.taskType} keeps ~${formatMs(donor.drainAfter)} of work per swarmlet without this one`,
    });
    this.used.add(donor.swarmlet.id);
    this.counts.set(donor.demand.taskType, this.count(donor.demand) - 1);
    this.counts.set(needy.taskType, this.count(needy) + 1);
    return true;
  }

  /** For a type with no swarmlet: why it is worth a switch now, or undefined to wait for a batch. */
  private batchReady(needy: TypeDemand): string | undefined {
    // Nothing says it is short: one swarmlet learns how long it takes (a long type was starved for seconds, taken for
    // a default 10 ms, while the batch of it grew).
    if (this.unmeasured.has(needy.taskType))
      return `${needy.backlog} queued, not measured yet (one swarmlet learns how long it takes), and no swarmlet`;
    if (needy.workMs >= this.params.batchMs)
      return `${needy.backlog} queued (~${formatMs(needy.workMs)} of work, ≥ a ${formatMs(this.params.batchMs)} batch) and no swarmlet`;
    const waitedMs = this.snapshot.nowMs - (this.waitingSinceMs.get(needy.taskType) ?? this.snapshot.nowMs);
    if (waitedMs >= this.params.maxWaitMs)
      return `${needy.backlog} queued for ${formatMs(waitedMs)} (≥ ${formatMs(this.params.maxWaitMs)}) and no swarmlet`;
    return undefined;
  }

  private whyRefused(): string {
    const { limits } = this.snapshot;
    const full =
      this.live >= limits.maxSwarmlets
        ? `at the limit of ${limits.maxSwarmlets} swarmlets`
        : `memory limit ${limits.maxMemoryMb} MB reached`;
    return `${full} and no swarmlet can be spared yet`;
  }

  /**
   * A swarmlet of this type that may be reshaped now, idle ones first: not already chosen, and out
   * of its cooldown unless it sits idle with nothing of its type queued (nothing to lose then).
   */
  private movable(demand: TypeDemand, toTaskType: string): SwarmletView | undefined {
    const candidates = this.movablesOf(demand);
    return candidates.find((s) => !this.used.has(s.id) && s.warmTypes.includes(toTaskType)) ?? candidates[0];
  }

  private hasMovable(demand: TypeDemand): boolean {
    return this.movablesOf(demand).length > 0;
  }

  /**
   * The type's reshapeable swarmlets, least loaded first, from the first not chosen yet (those chosen further on are
   * skipped by the caller). What does not change within a tick is worked out once.
   */
  private movablesOf(demand: TypeDemand): SwarmletView[] {
    let candidates = this.movables.get(demand.taskType);
    if (!candidates) {
      candidates = demand.swarmlets
        .filter((s) => {
          if (s.pendingTaskType !== undefined || (s.state !== 'idle' && s.state !== 'busy')) return false;
          const idleWithoutWork = s.state === 'idle' && demand.backlog === 0;
          return idleWithoutWork || this.snapshot.nowMs - s.lastMorphAtMs >= this.params.cooldownMs;
        })
        .sort((a, b) => a.inFlight - b.inFlight || a.utilization - b.utilization);
      this.movables.set(demand.taskType, candidates);
    }
    while (candidates.length > 0 && this.used.has(candidates[0]!.id)) candidates.shift();
    return candidates;
  }

  /** Drains the least-used swarmlets of a type whose group stays under-used and has no queue. */
  consolidate(demands: Map<string, TypeDemand>, previous: ReadonlyMap<string, number>): Map<string, number> {
    const lowUseTicks = new Map<string, number>();
    for (const demand of demands.values()) {
      const group = demand.swarmlets.filter(
        (s) =>
          !this.used.has(s.id) && s.pendingTaskType === undefined && s.state !== 'starting' && s.state !== 'warming',
      );
      if (group.length < 2) continue;
      const meanUse = group.reduce((sum, s) => sum + s.utilization, 0) / group.length;
      const queued = demand.backlog - group.reduce((sum, s) => sum + s.inFlight, 0);
      if (meanUse >= this.params.consolidateBelowUtilization || queued > 0) continue;
      const ticks = (previous.get(demand.taskType) ?? 0) + 1;
      lowUseTicks.set(demand.taskType, ticks);
      if (ticks < this.params.consolidateAfterTicks) continue;
      const keep = Math.max(1, Math.ceil((meanUse * group.length) / 0.7));
      const victims = [...group].sort((a, b) => a.utilization - b.utilization).slice(0, group.length - keep);
      for (const victim of victims) {
        this.used.add(victim.id);
        this.actions.push({
          kind: 'consolidate',
          swarmletId: victim.id,
          taskType: demand.taskType,
          reason: `${group.length} swarmlets at ${Math.round(meanUse * 100)}% mean utilisation for ${ticks} ticks, no queue: ${keep} can carry it`,
        });
      }
      lowUseTicks.delete(demand.taskType);
    }
    return lowUseTicks;
  }

  /** Stops swarmlets idle past the keep-alive whose type has nothing queued or pending. */
  deprovisionIdle(demands: Map<string, TypeDemand>): void {
    for (const demand of demands.values()) {
      if (demand.backlog > 0 || demand.blocked > 0) continue;
      // The type's keep-alive plan decides; before it has one, the fixed keep-alive does.
      const wanted = this.keepWarm.wantsLoaded(demand.taskType, this.snapshot.nowMs);
      for (const swarmlet of demand.swarmlets) {
        const idleMs = this.snapshot.nowMs - swarmlet.lastBusyAtMs;
        if (this.used.has(swarmlet.id) || swarmlet.shadow || swarmlet.state !== 'idle') continue;
        if (wanted === true || (wanted === undefined && idleMs < this.params.keepAliveMs)) continue;
        this.used.add(swarmlet.id);
        const why =
          wanted === false
            ? `adaptive keep-alive says unload (${this.keepWarm.describe(demand.taskType, this.snapshot.nowMs)})`
            : `idle ${formatMs(idleMs)} ≥ keep-alive ${formatMs(this.params.keepAliveMs)}`;
        this.actions.push({
          kind: 'deprovision',
          swarmletId: swarmlet.id,
          reason: `${why}, no ${demand.taskType} work queued or pending`,
        });
      }
    }
  }
}
