import type { Action, Unplaced } from '../../core/actions.js';
import { chainTailsMs, drainMs, formatMs, type TypeDemand } from '../demand.js';
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
  /**
   * Per type, the swarmlets switching to it that still run another type's micro-task a tick after they were chosen:
   * they count as its swarmlets, but serve it only once that micro-task ends, which may be minutes away.
   */
  private readonly switchingBehindWork = new Map<string, number>();
  /** The snapshot's live swarmlets (the prewarm rules read them too). */
  readonly liveSwarmlets: readonly SwarmletView[];
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
    this.liveSwarmlets = liveSwarmlets(snapshot);
    this.live = this.liveSwarmlets.length;
    this.memoryMb = memoryInUseMb(snapshot, this.liveSwarmlets);
    for (const s of snapshot.swarmlets) {
      if (s.pendingTaskType === undefined || s.inFlight === 0 || s.state === 'stopped' || s.state === 'draining')
        continue;
      if (snapshot.nowMs - s.lastMorphAtMs < snapshot.windowMs) continue; // chosen this tick or the last: wait for it
      this.switchingBehindWork.set(s.pendingTaskType, (this.switchingBehindWork.get(s.pendingTaskType) ?? 0) + 1);
    }
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

  /**
   * The type's swarmlets that serve it now or as soon as they are free: not those still running another type's
   * micro-task. (Counting them, a type whose one swarmlet waited behind a 170 s micro-task of another type was not
   * needy while swarmlets sat idle: 1000genome 6ch-250k at 32 slots lost 180 s.)
   */
  private available(demand: TypeDemand): number {
    return this.count(demand) - (this.switchingBehindWork.get(demand.taskType) ?? 0);
  }

  /**
   * Per type, the predicted work that must follow its own before the jobs end (demand.ts `chainTailsMs`): of two
   * types whose backlogs drain alike, the one whose work leads to more is served first. (Drain time alone gave the
   * sink type `frequency` the swarmlets the `individuals` ahead of a 230 s chain needed: 1000genome at 32 slots.)
   */
  private tails = new Map<string, number>();

  private tailOf(demand: TypeDemand): number {
    return this.tails.get(demand.taskType) ?? 0;
  }

  /**
   * Greedy min-max finish time: give a swarmlet to the type whose backlog would take longest to drain, counting the
   * work that must follow it.
   */
  rebalance(demands: Map<string, TypeDemand>): void {
    this.tails = chainTailsMs(demands);
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

  /** Types another swarmlet would help, latest finish (drain, then the work after it) first. */
  private needyTypes(demands: Map<string, TypeDemand>): TypeDemand[] {
    const needy: { demand: TypeDemand; drain: number; finish: number }[] = [];
    for (const demand of demands.values()) {
      const count = this.available(demand);
      // Nothing waits for a swarmlet (what runs finishes where it runs), or more swarmlets than micro-tasks: another
      // one cannot help.
      if (demand.queued === 0 || demand.backlog <= count) continue;
      const drain = drainMs(demand.workMs, count);
      if (count === 0 || drain > this.params.replicateAboveMs)
        needy.push({ demand, drain, finish: drain + this.tailOf(demand) });
    }
    if (needy.length > 1)
      needy.sort(
        (a, b) =>
          b.finish - a.finish ||
          this.tailOf(b.demand) - this.tailOf(a.demand) ||
          a.demand.taskType.localeCompare(b.demand.taskType),
      );
    return needy.map((n) => n.demand);
  }

  private replicate(demand: TypeDemand): boolean {
    const { limits } = this.snapshot;
    if (this.live >= limits.maxSwarmlets || this.memoryMb + limits.swarmletMemoryMb > limits.maxMemoryMb) return false;
    const count = this.available(demand);
    this.actions.push({
      kind: 'replicate',
      taskType: demand.taskType,
      reason: `${demand.backlog} queued, ~${formatMs(drainMs(demand.workMs, count))} of work per swarmlet with ${count}`,
    });
    this.counts.set(demand.taskType, this.count(demand) + 1);
    this.live += 1;
    this.memoryMb += limits.swarmletMemoryMb;
    return true;
  }

  /** Takes a swarmlet from the type that misses it least, if that clearly brings the latest finish closer. */
  private specializeInto(needy: TypeDemand, demands: Map<string, TypeDemand>): boolean {
    const needyDrain = drainMs(needy.workMs, this.available(needy));
    const needyFinish = needyDrain + this.tailOf(needy);
    // One switch already waits behind another type's work: only a swarmlet free now helps sooner (a second busy one
    // would pile a second wait on the first).
    const idleOnly = (this.switchingBehindWork.get(needy.taskType) ?? 0) > 0;
    // The donor is the type that misses a swarmlet least; only then which of its swarmlets (a scan per type per round
    // was quadratic in the pool: 3.4 s a tick at 10,000 swarmlets).
    let best: { demand: TypeDemand; drainAfter: number; finishAfter: number } | undefined;
    for (const demand of demands.values()) {
      if (demand === needy || this.count(demand) === 0 || !this.movable(demand, needy.taskType, idleOnly, needyDrain))
        continue;
      // A type with nothing queued loses nothing: its running micro-tasks finish where they run, and a swarmlet
      // taken from it serves the needy type once its own is done. (Counting them as its work kept 11 idle mProject
      // swarmlets from 490 queued mDiffFit micro-tasks for 20 s on montage 2mass-05d at 128 slots.)
      const drainAfter = demand.queued === 0 ? 0 : drainMs(demand.workMs, this.count(demand) - 1);
      const finishAfter = demand.queued === 0 ? 0 : drainAfter + this.tailOf(demand);
      if (!best || finishAfter < best.finishAfter) best = { demand, drainAfter, finishAfter };
    }
    if (!best || best.finishAfter * (1 + this.params.moveMargin) >= needyFinish) return false;
    const donor = { ...best, swarmlet: this.movable(best.demand, needy.taskType, idleOnly, needyDrain)! };
    const starting =
      this.available(needy) === 0 ? this.batchReady(needy) : `~${formatMs(needyDrain)} of work per swarmlet`;
    if (starting === undefined && donor.demand.backlog > 0) return false; // let its queue grow into a batch first
    this.actions.push({
      kind: 'specialize',
      swarmletId: donor.swarmlet.id,
      fromTaskType: donor.demand.taskType,
      toTaskType: needy.taskType,
      reason: `${needy.taskType} has ${starting ?? `${needy.backlog} queued and no swarmlet`}${this.after(needy)}; ${donor.demand.taskType} keeps ~${formatMs(donor.drainAfter)} of work per swarmlet${this.after(donor.demand)} without this one`,
    });
    this.used.add(donor.swarmlet.id);
    this.counts.set(donor.demand.taskType, this.count(donor.demand) - 1);
    this.counts.set(needy.taskType, this.count(needy) + 1);
    return true;
  }

  /** The work that must follow a type's, for a reason (nothing when none). */
  private after(demand: TypeDemand): string {
    const tail = this.tailOf(demand);
    return tail > 0 ? ` (then ~${formatMs(tail)} of work waits on it)` : '';
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
   * A swarmlet of this type that may be reshaped now, the soonest free first: not already chosen, and out of its
   * cooldown unless it sits idle with nothing of its type queued (nothing to lose then). A busy one only if it is
   * predicted free before the receiving type's queue would drain without it (`withinMs`), and not `idleOnly`.
   */
  private movable(
    demand: TypeDemand,
    toTaskType: string,
    idleOnly: boolean,
    withinMs: number,
  ): SwarmletView | undefined {
    const candidates = this.movablesOf(demand);
    const fits = (s: SwarmletView): boolean =>
      !this.used.has(s.id) && (s.inFlight === 0 || (!idleOnly && freeInMs(s, demand) < withinMs));
    const first = candidates[0];
    return (
      candidates.find((s) => fits(s) && s.warmTypes.includes(toTaskType)) ??
      (first !== undefined && fits(first) ? first : undefined)
    );
  }

  /**
   * The type's reshapeable swarmlets, the soonest free first (idle, then busy by the predicted rest of what they run),
   * from the first not chosen yet (those chosen further on are skipped by the caller). A busy swarmlet switches once
   * its micro-task ends: least loaded first picked the one that had just started its micro-task, and on srasearch at 8
   * slots a new type waited 2,800 s behind a fasterq-dump that began as it was chosen. What does not change within a
   * tick is worked out once.
   */
  private movablesOf(demand: TypeDemand): SwarmletView[] {
    let candidates = this.movables.get(demand.taskType);
    if (!candidates) {
      candidates = demand.swarmlets
        .filter((s) => {
          if (s.pendingTaskType !== undefined || (s.state !== 'idle' && s.state !== 'busy')) return false;
          const idleWithoutWork = s.state === 'idle' && demand.queued === 0;
          return idleWithoutWork || this.snapshot.nowMs - s.lastMorphAtMs >= this.params.cooldownMs;
        })
        .sort(
          (a, b) =>
            freeInMs(a, demand) - freeInMs(b, demand) || a.inFlight - b.inFlight || a.utilization - b.utilization,
        );
      this.movables.set(demand.taskType, candidates);
    }
    while (candidates.length > 0 && this.used.has(candidates[0]!.id)) candidates.shift();
    return candidates;
  }

  /** Drains the least-used swarmlets of a type whose group stays under-used and has no queue. */
  consolidate(demands: Map<string, TypeDemand>, previous: ReadonlyMap<string, number>): Map<string, number> {
    const lowUseTicks = new Map<string, number>();
    for (const demand of demands.values()) {
      if (demand.swarmlets.length < 2) continue; // nor would its group have two
      // Shadows wait for work not yet ready, and are reclaimed on their own terms.
      const group = demand.swarmlets.filter(
        (s) =>
          !this.used.has(s.id) &&
          !s.shadow &&
          s.pendingTaskType === undefined &&
          s.state !== 'starting' &&
          s.state !== 'warming',
      );
      if (group.length < 2) continue;
      const meanUse = group.reduce((sum, s) => sum + s.utilization, 0) / group.length;
      if (meanUse >= this.params.consolidateBelowUtilization || demand.queued > 0) continue;
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

  /**
   * Starts shadow swarmlets, in free slots, for a type whose blocked micro-tasks wait only on micro-tasks already
   * running and predicted to end within keepAliveMs (what a cold start is priced at as idle time): the swarmlet is
   * warm when they become ready instead of starting then. As many as the blocked work keeps busy for a keep-alive (one
   * per micro-task at most); a type whose predictions ahead are not known to be good is not guessed at. (On blast at
   * 128 slots the two sink types started a tick and a cold start after the last blastall ended: 0.2 s of a 10.7 s
   * run.) Unused shadows are reclaimed as any shadow is.
   */
  prewarmAhead(demands: Map<string, TypeDemand>): void {
    const { limits } = this.snapshot;
    let predecessors: Map<string, TypeDemand[]> | undefined; // worked out for the first type that wants a shadow
    for (const demand of demands.values()) {
      // As many as its released work keeps busy for a keep-alive, at most one per micro-task (tiny ones share one).
      const busyFor = Math.ceil((demand.blocked * demand.durationMs) / this.params.keepAliveMs);
      const want = Math.min(demand.blocked, Math.max(1, busyFor)) - this.count(demand);
      if (want <= 0 || demand.queued > 0) continue;
      predecessors ??= predecessorsOf(demands);
      const ahead = predecessors.get(demand.taskType) ?? [];
      // Everything left ahead of it runs now (nothing queued or blocked there).
      if (ahead.some((p) => p.queued > 0 || p.blocked > 0)) continue;
      const waitMs = this.lastEndMs(ahead);
      if (waitMs === undefined || waitMs > this.params.keepAliveMs) continue;
      for (let i = 0; i < want; i++) {
        if (this.live >= limits.maxSwarmlets || this.memoryMb + limits.swarmletMemoryMb > limits.maxMemoryMb) return;
        this.actions.push({
          kind: 'prewarm',
          taskType: demand.taskType,
          reason: `${demand.blocked} ${demand.taskType} wait on ${ahead.map((p) => p.taskType).join(', ')} running now, predicted done in ~${formatMs(waitMs)} (within the ${formatMs(this.params.keepAliveMs)} a cold start is worth): shadow swarmlet`,
        });
        this.counts.set(demand.taskType, this.count(demand) + 1);
        this.live += 1;
        this.memoryMb += limits.swarmletMemoryMb;
      }
    }
  }

  /**
   * When the micro-tasks these types are running are predicted to have all ended, plus how far off the types'
   * predictions have been (their median error, in ms); undefined when none runs, when a type's error is not known yet
   * or is itself over keepAliveMs, or when a micro-task has overrun its prediction by more than keepAliveMs: its end is
   * anyone's guess. (Without the error, shadows for mDiffFit were started and reclaimed over and over behind mProject
   * micro-tasks of 15 s to 10 minutes, and on srasearch behind fasterq-dumps running 1,000 s past the mean.)
   */
  private lastEndMs(types: readonly TypeDemand[]): number | undefined {
    let lastMs: number | undefined;
    for (const demand of types) {
      if (demand.backlog === 0) continue;
      if (demand.durationErrorRatio === undefined) return undefined;
      const spreadMs = demand.durationMs * demand.durationErrorRatio;
      if (spreadMs > this.params.keepAliveMs) return undefined;
      for (const s of this.snapshot.swarmlets) {
        if (s.taskType !== demand.taskType || s.inFlight === 0) continue;
        const overrunMs = (s.busyForMs ?? 0) - s.inFlight * demand.durationMs;
        if (overrunMs > this.params.keepAliveMs) return undefined;
        lastMs = Math.max(lastMs ?? 0, freeInMs(s, demand) + spreadMs);
      }
    }
    return lastMs;
  }

  /** Stops swarmlets idle past the keep-alive whose type has nothing queued or pending. */
  deprovisionIdle(demands: Map<string, TypeDemand>): void {
    for (const demand of demands.values()) {
      // Work in flight elsewhere does not need an idle swarmlet (it kept 7 idle on srasearch for 1,600 s).
      if (demand.queued > 0 || demand.blocked > 0) continue;
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

/** Per type, the types whose micro-tasks its own wait on. */
function predecessorsOf(demands: Map<string, TypeDemand>): Map<string, TypeDemand[]> {
  const predecessors = new Map<string, TypeDemand[]>();
  for (const demand of demands.values())
    for (const next of demand.successors) predecessors.set(next, [...(predecessors.get(next) ?? []), demand]);
  return predecessors;
}

/** When a swarmlet is predicted free of what it holds: its micro-tasks at the type's duration, less what has run. */
function freeInMs(swarmlet: SwarmletView, demand: TypeDemand): number {
  return swarmlet.inFlight === 0 ? 0 : Math.max(0, swarmlet.inFlight * demand.durationMs - (swarmlet.busyForMs ?? 0));
}
