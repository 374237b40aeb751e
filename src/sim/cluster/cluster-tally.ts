import type { Action } from '../../core/actions.js';
import type { NodeState } from '../../place/node-lifecycle.js';
import type { NodeAdvertisement, NodeKind } from '../../place/node-probe.js';
import type { NodeTransition } from '../../runtime/cluster/cluster-pool.js';
import type { SimNode, SimSwarmlet } from './sim-node.js';

/** What a kind of node got and cost in one simulated run. */
export interface KindTally {
  readonly nodes: number;
  readonly left: number;
  readonly swarmlets: number;
  /** Swarmlet time held (starting, idle, busy, draining), ms: each swarmlet claims one core. */
  readonly heldMs: number;
  /** heldMs × the node's price per core-second. */
  readonly cost: number;
}

export interface SimClusterResult {
  readonly nodes: number;
  readonly makespanMs: number;
  /** max(critical path, total work ÷ the cluster's slots). */
  readonly lowerBoundMs: number;
  readonly heldMs: number;
  readonly cost: number;
  /** What the same swarmlet time costs at the lowest price asked (a floor no placement can beat). */
  readonly cheapestCost: number;
  readonly byKind: Readonly<Partial<Record<NodeKind, KindTally>>>;
  /** Micro-tasks in flight on a node that left: each ran again elsewhere after its lock expired. */
  readonly failovers: number;
  readonly actions: Readonly<Record<string, number>>;
  /** Auctions held (one per placement) and replicates no node could take. */
  readonly auctions: number;
  readonly unplaced: number;
  readonly transitions: Readonly<Partial<Record<NodeState, number>>>;
  /** The director's tick on the wall clock: observe, decide, auction, desired states (not reading heartbeats). */
  readonly tick: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly events: number;
  readonly violations: readonly string[];
}

/** Counts what a simulated cluster run did, as it goes. */
export class ClusterTally {
  private readonly kinds = new Map<
    NodeKind,
    { nodes: number; left: number; swarmlets: number; heldMs: number; cost: number }
  >();
  private heldMs = 0;
  private cost = 0;
  private failovers = 0;
  private auctions = 0;
  private unplaced = 0;
  private readonly actions: Record<string, number> = {};
  private readonly transitions: Partial<Record<NodeState, number>> = {};
  private readonly tickMs: number[] = [];
  private readonly cheapestPrice: number;

  constructor(private readonly nodes: readonly NodeAdvertisement[]) {
    for (const { kind } of nodes) {
      const tally = this.kinds.get(kind) ?? { nodes: 0, left: 0, swarmlets: 0, heldMs: 0, cost: 0 };
      tally.nodes += 1;
      this.kinds.set(kind, tally);
    }
    this.cheapestPrice = Math.min(...nodes.map((n) => n.pricePerCoreSecond));
  }

  held(s: SimSwarmlet, untilMs: number): void {
    const ms = Math.max(0, untilMs - s.startedAtMs);
    const cost = (ms / 1000) * s.node.advertisement.pricePerCoreSecond;
    const tally = this.kinds.get(s.node.advertisement.kind)!;
    tally.swarmlets += 1;
    tally.heldMs += ms;
    tally.cost += cost;
    this.heldMs += ms;
    this.cost += cost;
  }

  left(node: SimNode): void {
    this.kinds.get(node.advertisement.kind)!.left += 1;
  }

  failover(): void {
    this.failovers += 1;
  }

  tick(
    wallMs: number,
    outcomes: readonly { readonly action: Action; readonly outcome: string }[],
    auctions: number,
    transitions: readonly NodeTransition[],
  ): void {
    this.tickMs.push(wallMs);
    this.auctions += auctions;
    for (const { action, outcome } of outcomes) {
      this.actions[action.kind] = (this.actions[action.kind] ?? 0) + 1;
      if (outcome.startsWith('no node can take')) this.unplaced += 1;
    }
    for (const { to } of transitions) this.transitions[to] = (this.transitions[to] ?? 0) + 1;
  }

  result(run: Pick<SimClusterResult, 'makespanMs' | 'lowerBoundMs' | 'events' | 'violations'>): SimClusterResult {
    const sorted = [...this.tickMs].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      nodes: this.nodes.length,
      ...run,
      heldMs: this.heldMs,
      cost: this.cost,
      cheapestCost: (this.heldMs / 1000) * this.cheapestPrice,
      byKind: Object.fromEntries(this.kinds),
      failovers: this.failovers,
      actions: { ...this.actions },
      auctions: this.auctions,
      unplaced: this.unplaced,
      transitions: { ...this.transitions },
      tick: { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? 0 },
      events: run.events,
      violations: run.violations,
    };
  }
}
