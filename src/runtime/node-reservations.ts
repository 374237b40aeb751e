import { ReservationLedger } from '../schedule/reservation-ledger.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import type { DurationEstimate } from './usage-tracker.js';

/** What a busy swarmlet of a type is predicted to need (the usage model, else the type's hints). */
export interface UsagePredictions extends DurationEstimate {
  predictedMemoryMb(taskType: string): number | undefined;
  predictedCpu(taskType: string): number | undefined;
}

export interface NodeBudget {
  /** Cores of this machine. */
  readonly cores: number;
  /** Memory busy swarmlets may hold together (the swarm's `maxMemoryMb`). */
  readonly memoryMb: number;
  /** Per swarmlet: a type predicted above this can never run (`swarmletMemoryLimitMb`). */
  readonly swarmletLimitMb: number | undefined;
  /** Assumed resident memory of a swarmlet whose type has no hint and no measurement yet. */
  readonly defaultSwarmletMb: number;
}

export interface ReservationReport {
  readonly budgetMemoryMb: number;
  readonly budgetCpu: number;
  readonly reservedMemoryMb: number;
  readonly peakReservedMemoryMb: number;
  readonly peakBusySwarmlets: number;
  /** Times a swarmlet with work waiting could not start because its claim did not fit. */
  readonly deferred: number;
  readonly lastDeferral: string | undefined;
}

const NODE = 'node';

interface Need {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly durationMs: number;
}
/** CPU is compressible: busy swarmlets may claim up to twice the cores (a slow task beats a killed one). */
const CPU_OVERCOMMIT = 2;

/**
 * The reservation pool of this machine (schedule/reservation-ledger with one slot, the node): a
 * swarmlet claims its type's predicted CPU and resident memory before it is handed micro-tasks,
 * holds the claim while it is busy (renewed each tick) and releases it when it goes idle or stops.
 * A claim that does not fit leaves the work queued in the broker until one ends, so busy swarmlets'
 * predicted memory never adds up past the budget. Claims are per swarmlet, not per micro-task: a
 * swarmlet runs one micro-task at a time, so its prefetched ones do not need memory at once.
 * In cluster mode the slots are the agents' nodes.
 */
export class NodeReservations {
  private readonly ledger = new ReservationLedger({ cpuOvercommit: CPU_OVERCOMMIT, expirySlack: 2, minHoldMs: 1_000 });
  private peakReservedMemoryMb = 0;
  private peakBusySwarmlets = 0;
  private deferred = 0;
  private lastDeferral: string | undefined;
  /**
   * Each type's claim, worked out once per tick (`needsTick`: the tick it was worked out in): a claim is made per
   * idle→busy swarmlet, which with one micro-task in flight is per micro-task.
   */
  private readonly needs = new Map<string, { tick: number; need: Need }>();
  private needsTick = 0;

  constructor(
    private readonly budget: NodeBudget,
    private readonly usage: UsagePredictions,
  ) {
    const registered = this.ledger.register({ id: NODE, cpu: budget.cores, memoryMb: budget.memoryMb });
    if (!registered.ok) throw new Error(`reservation pool: ${registered.reason}`);
  }

  /** A task type no swarmlet could ever hold, with the reason; undefined when it fits. */
  neverFits(taskType: string): string | undefined {
    const memoryMb = this.usage.predictedMemoryMb(taskType); // only a real prediction refuses, never the default guess
    if (memoryMb === undefined) return undefined;
    const limitMb = Math.min(this.budget.memoryMb, this.budget.swarmletLimitMb ?? Number.POSITIVE_INFINITY);
    if (memoryMb <= limitMb) return undefined;
    const which =
      this.budget.swarmletLimitMb !== undefined && this.budget.swarmletLimitMb < this.budget.memoryMb
        ? `swarmletMemoryLimitMb ${this.budget.swarmletLimitMb} MB`
        : `the memory budget (maxMemoryMb) ${this.budget.memoryMb} MB`;
    return `task type ${taskType} is predicted to need ${Math.round(memoryMb)} MB per swarmlet, more than ${which}; raise that limit or lower the task's memory`;
  }

  /** The reason the first of these task types could never fit, or undefined when all of them can. */
  firstUnfit(taskTypes: Iterable<string>): string | undefined {
    for (const taskType of new Set(taskTypes)) {
      const reason = this.neverFits(taskType);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /** Before handing `swarmlet` work: true when it holds (or just got) its claim. */
  hold(swarmlet: SwarmletRecord, nowMs: number): boolean {
    if (this.ledger.claimOf(swarmlet.id)) return true;
    const need = this.needOf(swarmlet.taskType);
    const result = this.ledger.claim({
      taskId: swarmlet.id,
      resources: need,
      predictedDurationMs: need.durationMs,
      nowMs,
      placeOn: NODE,
    });
    if (!result.ok) {
      this.deferred += 1;
      this.lastDeferral = `${swarmlet.id} (${swarmlet.taskType}) waits: ${result.reason}`;
      return false;
    }
    this.peakBusySwarmlets = Math.max(this.peakBusySwarmlets, this.ledger.claimCount);
    this.peakReservedMemoryMb = Math.max(this.peakReservedMemoryMb, this.ledger.totalReserved().memoryMb);
    return true;
  }

  /** The swarmlet went idle or stopped: its claim ends. */
  release(swarmletId: string, nowMs: number): void {
    this.ledger.release(swarmletId, nowMs);
  }

  /** Each tick: busy swarmlets (those with work in flight) keep their claims; a claim outliving its work expires. */
  renew(swarmlets: Iterable<SwarmletRecord>, nowMs: number): void {
    this.needsTick += 1; // predictions move: work the claims out again this tick
    for (const swarmlet of swarmlets) {
      if (swarmlet.inFlight.size === 0) continue;
      const claim = this.ledger.claimOf(swarmlet.id);
      if (!claim) continue;
      const leaseMs = Math.max(1_000, 2 * this.needOf(swarmlet.taskType).durationMs);
      // Extended only once half its lease is gone: a claim renewed every tick filled the ledger's expiry heap with
      // stale entries (a long run's ticks made it the busiest code of the loop).
      if (claim.expiresAtMs - nowMs < leaseMs / 2) this.ledger.extend(swarmlet.id, nowMs + leaseMs);
    }
    this.ledger.expire(nowMs);
  }

  report(): ReservationReport {
    return {
      budgetMemoryMb: this.budget.memoryMb,
      budgetCpu: this.budget.cores * CPU_OVERCOMMIT,
      reservedMemoryMb: this.ledger.totalReserved().memoryMb,
      peakReservedMemoryMb: this.peakReservedMemoryMb,
      peakBusySwarmlets: this.peakBusySwarmlets,
      deferred: this.deferred,
      lastDeferral: this.lastDeferral,
    };
  }

  private needOf(taskType: string): Need {
    let entry = this.needs.get(taskType);
    if (entry === undefined)
      this.needs.set(taskType, (entry = { tick: -1, need: { cpu: 0, memoryMb: 0, durationMs: 0 } }));
    if (entry.tick !== this.needsTick) {
      const cpu = Math.min(this.budget.cores * CPU_OVERCOMMIT, Math.max(0.05, this.usage.predictedCpu(taskType) ?? 1));
      // Never more than the whole budget: a lone swarmlet always gets to run (its hard limit still guards it).
      // A new object: a claim keeps the one it was made with.
      entry.need = {
        cpu,
        memoryMb: Math.min(this.memoryOf(taskType), this.budget.memoryMb),
        durationMs: this.durationOf(taskType),
      };
      entry.tick = this.needsTick;
    }
    return entry.need;
  }

  private memoryOf(taskType: string): number {
    return this.usage.predictedMemoryMb(taskType) ?? this.budget.defaultSwarmletMb;
  }

  private durationOf(taskType: string): number {
    return this.usage.predictedDurationMs(taskType) ?? 0;
  }
}
