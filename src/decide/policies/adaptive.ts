import type { Action, Unplaced } from '../../core/actions.js';
import { EMPTY_EWMA, updateEwma, type Ewma } from '../../predict/ewma.js';
import { demandByType, drainMs, formatMs, type TypeDemand } from '../demand.js';
import type { Policy } from '../policy.js';
import { liveSwarmlets, memoryInUseMb, type Snapshot, type SwarmletView } from '../snapshot.js';

export interface AdaptiveParams {
  /** Duration assumed for a type with no hint and no measurement yet. */
  readonly defaultDurationMs: number;
  /** Weight of the newest window in the duration estimate. */
  readonly durationAlpha: number;
  /** Do not start a process for less queued work per swarmlet than this (a cold start costs ~80 ms). */
  readonly replicateAboveMs: number;
  /** Move a swarmlet only if the receiving type's drain time beats the donor's by this factor (hysteresis). */
  readonly moveMargin: number;
  /** A swarmlet is not reshaped again within this long of its last start or morph (anti-flap). */
  readonly cooldownMs: number;
  /** Keep-alive: an idle swarmlet with no queued or pending work for its type is stopped after this. */
  readonly keepAliveMs: number;
  /** Consolidate a type's swarmlets when their mean utilisation stays under this… */
  readonly consolidateBelowUtilization: number;
  /** …for this many consecutive ticks. */
  readonly consolidateAfterTicks: number;
}

export const ADAPTIVE_DEFAULTS: AdaptiveParams = {
  defaultDurationMs: 10,
  durationAlpha: 0.3,
  replicateAboveMs: 150,
  moveMargin: 0.5,
  cooldownMs: 500,
  keepAliveMs: 2_000,
  consolidateBelowUtilization: 0.3,
  consolidateAfterTicks: 5,
};

export interface AdaptiveState {
  readonly durations: ReadonlyMap<string, Ewma>;
  /** Consecutive ticks each type has been under-used (consolidation hysteresis). */
  readonly lowUseTicks: ReadonlyMap<string, number>;
}

/** Ours: keeps every type's backlog draining at the same pace by replicating, specializing, consolidating and deprovisioning. */
export function adaptivePolicy(overrides: Partial<AdaptiveParams> = {}): Policy<AdaptiveState> {
  const params = { ...ADAPTIVE_DEFAULTS, ...overrides };
  return {
    name: 'adaptive',
    initialState: () => ({ durations: new Map(), lowUseTicks: new Map() }),
    decide(state, snapshot) {
      const durations = learnDurations(state.durations, snapshot, params.durationAlpha);
      const demands = demandByType(snapshot, (load) => durations.get(load.taskType)?.value ?? load.hintDurationMs ?? params.defaultDurationMs);
      const plan = new TickPlan(snapshot, params);
      plan.rebalance(demands);
      const lowUseTicks = plan.consolidate(demands, state.lowUseTicks);
      plan.deprovisionIdle(demands);
      return { state: { durations, lowUseTicks }, decision: { actions: plan.actions, unplaced: plan.unplaced } };
    },
  };
}

function learnDurations(previous: ReadonlyMap<string, Ewma>, snapshot: Snapshot, alpha: number): Map<string, Ewma> {
  const next = new Map(previous);
  for (const load of snapshot.load) {
    if (load.meanDurationMsInWindow === undefined) continue;
    next.set(load.taskType, updateEwma(next.get(load.taskType) ?? EMPTY_EWMA, load.meanDurationMsInWindow, alpha));
  }
  return next;
}

/** The actions of one tick, and the counts they change, so later rules see earlier ones. */
class TickPlan {
  readonly actions: Action[] = [];
  readonly unplaced: Unplaced[] = [];
  private readonly used = new Set<string>();
  private readonly counts = new Map<string, number>();
  private live: number;
  private memoryMb: number;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly params: AdaptiveParams,
  ) {
    this.live = liveSwarmlets(snapshot).length;
    this.memoryMb = memoryInUseMb(snapshot);
  }

  private count(demand: TypeDemand): number {
    return this.counts.get(demand.taskType) ?? demand.swarmlets.length;
  }

  /** Greedy min-max drain time: give a swarmlet to the type whose backlog would take longest to drain. */
  rebalance(demands: Map<string, TypeDemand>): void {
    for (let round = 0; round < this.snapshot.limits.maxSwarmlets * 2; round++) {
      const needy = this.neediest(demands);
      if (!needy) return;
      if (!this.replicate(needy) && !this.specializeInto(needy, demands)) return;
    }
  }

  private neediest(demands: Map<string, TypeDemand>): TypeDemand | undefined {
    let best: TypeDemand | undefined;
    let bestDrain = 0;
    for (const demand of demands.values()) {
      const count = this.count(demand);
      if (demand.backlog <= count) continue; // more swarmlets than micro-tasks: another one cannot help
      const drain = drainMs(demand.workMs, count);
      const worthIt = count === 0 || drain > this.params.replicateAboveMs;
      if (worthIt && drain > bestDrain) {
        best = demand;
        bestDrain = drain;
      }
    }
    return best;
  }

  private replicate(demand: TypeDemand): boolean {
    const { limits } = this.snapshot;
    if (this.live >= limits.maxSwarmlets) return false;
    if (this.memoryMb + limits.swarmletMemoryMb > limits.maxMemoryMb) return false; // specializeInto records why
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
    let donor: { demand: TypeDemand; swarmlet: SwarmletView; drainAfter: number } | undefined;
    for (const demand of demands.values()) {
      if (demand === needy) continue;
      const count = this.count(demand);
      const swarmlet = this.movable(demand);
      if (!swarmlet || count === 0) continue;
      const drainAfter = drainMs(demand.workMs, count - 1);
      if (!donor || drainAfter < donor.drainAfter) donor = { demand, swarmlet, drainAfter };
    }
    if (!donor || donor.drainAfter * (1 + this.params.moveMargin) >= needyDrain) {
      const { limits } = this.snapshot;
      const full = this.live >= limits.maxSwarmlets ? `at the limit of ${limits.maxSwarmlets} swarmlets` : `memory limit ${limits.maxMemoryMb} MB reached`;
      this.unplaced.push({ taskType: needy.taskType, wanted: 1, reason: `${full} and no swarmlet can be spared` });
      return false;
    }
    this.actions.push({
      kind: 'specialize',
      swarmletId: donor.swarmlet.id,
      fromTaskType: donor.demand.taskType,
      toTaskType: needy.taskType,
      reason: `${needy.taskType} has ~${formatMs(needyDrain)} of work per swarmlet; ${donor.demand.taskType} keeps ~${formatMs(donor.drainAfter)} without this one`,
    });
    this.used.add(donor.swarmlet.id);
    this.counts.set(donor.demand.taskType, this.count(donor.demand) - 1);
    this.counts.set(needy.taskType, this.count(needy) + 1);
    return true;
  }

  /** A swarmlet of this type that may be reshaped now: out of cooldown, not already chosen; idle ones first. */
  private movable(demand: TypeDemand): SwarmletView | undefined {
    const candidates = demand.swarmlets.filter(
      (s) => !this.used.has(s.id) && s.pendingTaskType === undefined && (s.state === 'idle' || s.state === 'busy') && this.snapshot.nowMs - s.lastMorphAtMs >= this.params.cooldownMs,
    );
    candidates.sort((a, b) => a.inFlight - b.inFlight || a.utilization - b.utilization);
    return candidates[0];
  }

  /** Drains the least-used swarmlets of a type whose group stays under-used and has no queue. */
  consolidate(demands: Map<string, TypeDemand>, previous: ReadonlyMap<string, number>): Map<string, number> {
    const lowUseTicks = new Map<string, number>();
    for (const demand of demands.values()) {
      const group = demand.swarmlets.filter((s) => !this.used.has(s.id) && s.pendingTaskType === undefined && s.state !== 'starting' && s.state !== 'warming');
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
      for (const swarmlet of demand.swarmlets) {
        const idleMs = this.snapshot.nowMs - swarmlet.lastBusyAtMs;
        if (this.used.has(swarmlet.id) || swarmlet.state !== 'idle' || idleMs < this.params.keepAliveMs) continue;
        this.used.add(swarmlet.id);
        this.actions.push({
          kind: 'deprovision',
          swarmletId: swarmlet.id,
          reason: `idle ${formatMs(idleMs)} ≥ keep-alive ${formatMs(this.params.keepAliveMs)}, no ${demand.taskType} work queued or pending`,
        });
      }
    }
  }
}
