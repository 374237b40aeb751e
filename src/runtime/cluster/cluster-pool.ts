import type { Action } from '../../core/actions.js';
import type { PoolLimits, SwarmletView } from '../../decide/snapshot.js';
import { runAuction, type AuctionResult, type PaymentRule } from '../../place/auction.js';
import { consentLimits } from '../../place/consent.js';
import {
  NEW_NODE_HEALTH,
  recordHeartbeat,
  recordOutcome,
  recordRoundTrip,
  type HealthOptions,
  type NodeHealth,
} from '../../place/node-health.js';
import { canNodeTransition, observeNode, type NodeState } from '../../place/node-lifecycle.js';
import type { NodeAdvertisement } from '../../place/node-probe.js';
import type { Resources } from '../../core/resources.js';
import { SwarmletFootprints } from '../../predict/swarmlet-footprint.js';
import type { AuctionNode } from '../../place/offers.js';
import type { DesiredState, Heartbeat, SwarmletStatus } from './protocol.js';

/** A live node as the director sees it this tick. */
export interface LiveNode {
  readonly advertisement: NodeAdvertisement;
  readonly heartbeat: Heartbeat;
}

export interface ClusterPoolOptions {
  /** What one swarmlet of a type with no hint and no measurement is assumed to hold on a node. */
  readonly swarmletCpu: number;
  readonly swarmletMemoryMb: number;
  /** A swarmlet's expected life, for pricing a slot (held core-seconds). */
  readonly slotLifeMs: number;
  readonly health: HealthOptions;
  /** How auction winners are paid (place/auction.ts); default critical value. */
  readonly payment?: PaymentRule;
  /** Nodes that refused the type's current bundle, with their reasons (bundle-refusals.ts): they get none of it. */
  readonly refusedBy?: (taskType: string) => ReadonlyMap<string, string>;
  /** Nodes where the type broke the consent caps lately, with the reasons (cap-breaks.ts): they get none of it. */
  readonly capBreaksOf?: (taskType: string) => ReadonlyMap<string, string>;
}

/** A swarmlet the director wants on a node (what agents reconcile toward). */
export interface Placed {
  readonly nodeId: string;
  taskType: string;
  /** Why it is there: the auction's verdict, or the specialization's. */
  reason: string;
  readonly startedAtMs: number;
  lastMorphAtMs: number;
  lastBusyAtMs: number;
  /** Placed ahead of its work by a `prewarm` and not yet seen busy: a shadow (not consolidated, reclaimed unused). */
  shadow: boolean;
  /** The types it served, from when (its timeline, for the API); the last is its type now. */
  readonly served: { taskType: string; fromMs: number }[];
}

const DECISIONS_KEPT = 200;
/**
 * Verdicts kept per auction: the winner's and the next cheapest losers'; the rest are counted. With a thousand bidders,
 * every verdict of every auction would be megabytes a tick for a report.
 */
const VERDICTS_KEPT = 10;
const TRANSITIONS_KEPT = 200;

/** One node lifecycle edge taken in `observe` (place/node-lifecycle.ts); `from` undefined is the join. */
export interface NodeTransition {
  readonly nodeId: string;
  readonly from: NodeState | undefined;
  readonly to: NodeState;
  readonly reason: string;
  readonly atMs: number;
}

export interface PlacementDecision {
  readonly atMs: number;
  readonly taskType: string;
  /** What the swarmlet claims on the winning node, and where the numbers come from. */
  readonly claim: string;
  /** `<node>: <verdict>` per bidder, e.g. "a2: won 1 slot: effective cost …", "a3: filtered: consent …". */
  readonly reasons: readonly string[];
}

/**
 * The director's side of the pool in cluster mode: the desired swarmlets per node (what agents
 * reconcile toward), the swarmlet views the policy decides on, and the policy's actions carried out
 * on desired state — a `replicate` goes to the node that wins the auction for one slot, with the
 * auction's reasons kept. A node that stops heart-beating loses its desired swarmlets; the policy
 * then sees the load without them and replicates elsewhere.
 */
export class ClusterPool {
  private readonly placed = new Map<string, Placed>();
  private readonly health = new Map<string, NodeHealth>();
  private readonly versions = new Map<string, number>();
  /** The agent's own timestamp of the last heartbeat seen per node (to tell a new beat from an old one). */
  private readonly beatSeen = new Map<string, number>();
  /** Nodes whose desired state changed since the last `takeChanged`. */
  private readonly changed = new Set<string>();
  /** Auctions since the last `takeDecisions`: each node's verdict with its reason. */
  private decisions: PlacementDecision[] = [];
  /** Every node seen, dead ones too: forgetting one would turn its comeback into a join. */
  private readonly states = new Map<string, NodeState>();
  /** Lifecycle edges since the last `takeTransitions`. */
  private transitions: NodeTransition[] = [];
  private nextId = 1;
  /** Each type's claim per swarmlet: hints, then agents' measurements. */
  private readonly footprints: SwarmletFootprints;

  constructor(private readonly options: ClusterPoolOptions) {
    this.footprints = new SwarmletFootprints({ cpu: options.swarmletCpu, memoryMb: options.swarmletMemoryMb });
  }

  /** A task type's declared needs (its module's `resources`): its swarmlets' claim until measured. */
  learnType(taskType: string, hint: Partial<Resources>): void {
    this.footprints.hint(taskType, hint);
  }

  /** A restarted director takes over what its predecessor wanted (ids keep counting up). */
  restore(nodeId: string, state: DesiredState, nowMs: number): void {
    this.versions.set(nodeId, state.version);
    for (const { id, taskType } of state.swarmlets) {
      this.placed.set(id, {
        nodeId,
        taskType,
        reason: state.reasons[id] ?? 'taken over from the previous director',
        startedAtMs: nowMs,
        lastMorphAtMs: nowMs,
        lastBusyAtMs: nowMs,
        shadow: false,
        served: [{ taskType, fromMs: nowMs }],
      });
      const n = Number(/^s(\d+)$/.exec(id)?.[1] ?? 0);
      this.nextId = Math.max(this.nextId, n + 1);
    }
  }

  /**
   * Updates health from heartbeats and each node's lifecycle state; a node dead or draining (or never
   * seen) loses its desired swarmlets. Returns the nodes whose swarmlets were dropped.
   */
  observe(nodes: ReadonlyMap<string, LiveNode>, nowMs: number): string[] {
    for (const [nodeId, node] of nodes) {
      // A new beat is timed on the director's clock: agents' clocks may disagree with it.
      if (this.beatSeen.get(nodeId) === node.heartbeat.atMs) continue;
      this.beatSeen.set(nodeId, node.heartbeat.atMs);
      const beat = recordHeartbeat(this.health.get(nodeId) ?? NEW_NODE_HEALTH, nowMs);
      this.health.set(
        nodeId,
        node.heartbeat.rttMs === undefined ? beat : recordRoundTrip(beat, node.heartbeat.rttMs, this.options.health),
      );
      for (const { taskType, state, rssMb } of node.heartbeat.swarmlets) {
        if (rssMb !== undefined && (state === 'idle' || state === 'busy'))
          this.footprints.observeMemory(taskType, rssMb);
      }
    }
    for (const nodeId of new Set([...this.states.keys(), ...nodes.keys()])) this.step(nodeId, nodes.get(nodeId), nowMs);
    const dropped = new Set<string>();
    for (const [id, placed] of this.placed) {
      const state = this.states.get(placed.nodeId);
      // suspect: no new placements, but what it runs stays until the TTL
      if (state === 'alive' || state === 'suspect') continue;
      dropped.add(placed.nodeId);
      this.placed.delete(id);
      this.changed.add(placed.nodeId);
    }
    // Dropping out is a failure; revoking consent is the owner's right, not unreliability.
    for (const nodeId of dropped) {
      if (this.states.get(nodeId) !== 'draining')
        this.health.set(
          nodeId,
          recordOutcome(this.health.get(nodeId) ?? NEW_NODE_HEALTH, false, nowMs, this.options.health),
        );
    }
    return [...dropped];
  }

  /** The node lifecycle edges taken since the last call (bounded), oldest first. */
  takeTransitions(): NodeTransition[] {
    const taken = this.transitions;
    this.transitions = [];
    return taken;
  }

  /** Each node's lifecycle state (for reports); nodes never seen are absent. */
  nodeStates(): ReadonlyMap<string, NodeState> {
    return new Map(this.states);
  }

  /**
   * Measured reliability: a node's batch of results is one success, each micro-task it reports dead
   * one failure (and a node that drops out is one more, in `observe`). Reliability divides a node's
   * score in the auction, so claiming more than it delivers costs it work.
   */
  recordResults(nodeId: string, dead: number, nowMs: number): void {
    let health = recordOutcome(this.health.get(nodeId) ?? NEW_NODE_HEALTH, true, nowMs, this.options.health);
    for (let i = 0; i < dead; i++) health = recordOutcome(health, false, nowMs, this.options.health);
    this.health.set(nodeId, health);
  }

  /** The desired swarmlets by id (read only: for reports and the API). */
  placements(): ReadonlyMap<string, Readonly<Placed>> {
    return this.placed;
  }

  /** What one swarmlet of the type claims on a node now, for reports (hints, then measurements). */
  claimOf(taskType: string): Resources {
    return this.footprints.of(taskType);
  }

  /** Health as measured so far (for reports). */
  healthOf(nodeId: string): NodeHealth | undefined {
    return this.health.get(nodeId);
  }

  /** The swarmlets the policy decides on: desired ones, with what their agents report (starting until reported). */
  views(nodes: ReadonlyMap<string, LiveNode>, nowMs: number): SwarmletView[] {
    const reported = new Map<string, SwarmletStatus>();
    for (const node of nodes.values()) for (const status of node.heartbeat.swarmlets) reported.set(status.id, status);
    return [...this.placed].map(([id, placed]) => {
      const status = reported.get(id);
      const busy = status !== undefined && status.inFlight > 0;
      if (busy) {
        placed.lastBusyAtMs = nowMs;
        placed.shadow = false;
      }
      const state =
        status === undefined || status.taskType !== placed.taskType
          ? 'starting'
          : status.state === 'stopped'
            ? 'starting'
            : status.state;
      return {
        id,
        taskType: placed.taskType,
        state,
        startedAtMs: placed.startedAtMs,
        lastBusyAtMs: placed.lastBusyAtMs,
        lastMorphAtMs: placed.lastMorphAtMs,
        inFlight: status?.inFlight ?? 0,
        ...(status?.busyForMs !== undefined && { busyForMs: status.busyForMs }),
        utilization: busy ? 1 : 0,
        rssMb: status?.rssMb,
        pendingTaskType: undefined,
        warmTypes: [placed.taskType],
        shadow: placed.shadow,
      };
    });
  }

  /** Pool limits over the live nodes: slots under capacity and consent caps. */
  limits(nodes: ReadonlyMap<string, LiveNode>): PoolLimits {
    let maxSwarmlets = 0;
    let maxMemoryMb = 0;
    for (const { advertisement } of nodes.values()) {
      const { slots, memoryMb } = this.capacityOf(advertisement);
      maxSwarmlets += slots;
      maxMemoryMb += memoryMb;
    }
    return { maxSwarmlets: Math.max(0, maxSwarmlets), maxMemoryMb, swarmletMemoryMb: this.options.swarmletMemoryMb };
  }

  /** A node's room under its capacity and consent caps: swarmlets of the default claim, and memory. */
  capacityOf(advertisement: NodeAdvertisement): { slots: number; memoryMb: number } {
    const caps = consentLimits(advertisement);
    const cpu = Math.min(advertisement.capacity.cpu, caps.cpu);
    const memoryMb = Math.min(advertisement.capacity.memoryMb, caps.memoryMb);
    const slots = Math.min(
      Math.floor(cpu / this.options.swarmletCpu + 1e-9),
      Math.floor(memoryMb / this.options.swarmletMemoryMb),
    );
    return { slots, memoryMb };
  }

  /** Carries out one policy action on desired state; returns what happened, for the log. */
  act(action: Action, nodes: ReadonlyMap<string, LiveNode>, nowMs: number): string {
    switch (action.kind) {
      case 'replicate':
        return this.place(action.taskType, 1, nodes, nowMs, false)[0]!;
      case 'prewarm':
        // A preload into an existing swarmlet is an embedded-mode refinement; a shadow is a placement.
        return action.swarmletId === undefined
          ? this.place(action.taskType, 1, nodes, nowMs, true)[0]!
          : 'preload skipped in cluster mode';
      case 'specialize': {
        const placed = this.placed.get(action.swarmletId);
        if (!placed) return `${action.swarmletId} is gone`;
        const keptOut = this.keptOut(action.toTaskType).get(placed.nodeId);
        if (keptOut !== undefined) return `${action.swarmletId} stays: ${placed.nodeId} ${keptOut}`;
        placed.taskType = action.toTaskType;
        placed.reason = `specialized: ${action.reason}`;
        placed.lastMorphAtMs = nowMs;
        placed.served.push({ taskType: action.toTaskType, fromMs: nowMs });
        this.changed.add(placed.nodeId);
        return `${action.swarmletId} on ${placed.nodeId} → ${action.toTaskType}`;
      }
      case 'consolidate':
      case 'deprovision':
      case 'reclaim': {
        const placed = this.placed.get(action.swarmletId);
        if (!placed) return `${action.swarmletId} is gone`;
        this.placed.delete(action.swarmletId);
        this.changed.add(placed.nodeId);
        return `${action.swarmletId} removed from ${placed.nodeId}`;
      }
    }
  }

  /**
   * A node refused a type's bundle, or the type broke its consent caps: its swarmlets of the type are no longer wanted
   * there (the policy, seeing them gone, places the type elsewhere). Returns their ids.
   */
  withdraw(nodeId: string, taskType: string): string[] {
    const withdrawn = [...this.placed].filter(([, p]) => p.nodeId === nodeId && p.taskType === taskType);
    for (const [id] of withdrawn) this.placed.delete(id);
    if (withdrawn.length > 0) this.changed.add(nodeId);
    return withdrawn.map(([id]) => id);
  }

  /** Nodes that get none of a type, with why: they refused its bundle, or it broke their consent caps lately. */
  private keptOut(taskType: string): Map<string, string> {
    const keptOut = new Map<string, string>();
    for (const [nodeId, reason] of this.options.capBreaksOf?.(taskType) ?? [])
      keptOut.set(nodeId, `broke its consent caps running ${taskType}: ${reason}`);
    for (const [nodeId, reason] of this.options.refusedBy?.(taskType) ?? [])
      keptOut.set(nodeId, `refused the bundle of ${taskType}: ${reason}`);
    return keptOut;
  }

  /** The auctions held since the last call (bounded), oldest first. */
  takeDecisions(): PlacementDecision[] {
    const taken = this.decisions;
    this.decisions = [];
    return taken;
  }

  /** Desired states that changed, to write; each gets the next version. */
  takeChanged(): { nodeId: string; state: DesiredState }[] {
    const out = [...this.changed].map((nodeId) => ({ nodeId, state: this.desiredOf(nodeId) }));
    this.changed.clear();
    return out;
  }

  private desiredOf(nodeId: string): DesiredState {
    const version = (this.versions.get(nodeId) ?? 0) + 1;
    this.versions.set(nodeId, version);
    const mine = [...this.placed].filter(([, p]) => p.nodeId === nodeId);
    return {
      version,
      swarmlets: mine.map(([id, p]) => ({ id, taskType: p.taskType })),
      reasons: Object.fromEntries(mine.map(([id, p]) => [id, p.reason])),
    };
  }

  private step(nodeId: string, node: LiveNode | undefined, nowMs: number): void {
    const from = this.states.get(nodeId);
    const last = this.health.get(nodeId)?.lastHeartbeatMs;
    // The common case, at every tick for every node: alive, consenting and on time stays alive (no reason to build).
    if (
      from === 'alive' &&
      node?.advertisement.consent?.granted !== false &&
      node !== undefined &&
      last !== undefined &&
      nowMs - last <= this.options.health.suspectAfterMs
    )
      return;
    const seen = {
      present: node !== undefined,
      consentGranted: node?.advertisement.consent?.granted !== false,
      silentMs: last === undefined ? undefined : Math.max(0, nowMs - last),
    };
    const next = observeNode(from, seen, this.options.health);
    // observeNode only yields legal edges; the table check keeps a bug there from corrupting the state.
    if (next === undefined || next.state === from || !canNodeTransition(from, next.state)) return;
    this.states.set(nodeId, next.state);
    this.transitions.push({ nodeId, from, to: next.state, reason: next.reason, atMs: nowMs });
    if (this.transitions.length > TRANSITIONS_KEPT) this.transitions.shift();
  }

  /**
   * Several swarmlets of a type wanted in one tick: one auction for all of them (every node's slots ranked once; with
   * a thousand bidders, an auction per swarmlet made a burst of placements a tick of a second). Returns what happened
   * to each, in order. `shadow`: placed ahead of their work (prewarms).
   */
  replicate(
    taskType: string,
    count: number,
    nodes: ReadonlyMap<string, LiveNode>,
    nowMs: number,
    shadow = false,
  ): string[] {
    return this.place(taskType, count, nodes, nowMs, shadow);
  }

  private place(
    taskType: string,
    count: number,
    nodes: ReadonlyMap<string, LiveNode>,
    nowMs: number,
    shadow: boolean,
  ): string[] {
    const footprint = this.footprints.of(taskType);
    const keptOut = this.keptOut(taskType);
    const refused = [...keptOut]
      .filter(([nodeId]) => nodes.has(nodeId))
      .map(([nodeId, reason]) => `${nodeId}: filtered: ${reason}`);
    const bidders = new Map([...nodes].filter(([nodeId]) => !keptOut.has(nodeId)));
    const result = this.auction(taskType, count, footprint, bidders, nowMs);
    this.decisions.push({ atMs: nowMs, taskType, claim: footprint.reason, reasons: verdicts(result, refused) });
    if (this.decisions.length > DECISIONS_KEPT) this.decisions.shift();
    const outcomes: string[] = [];
    for (const winner of result.placements) {
      const verdict = result.decisions.find((d) => d.nodeId === winner.nodeId)?.reasons[0] ?? 'won';
      for (let i = 0; i < winner.count; i++) {
        const id = `s${this.nextId++}`;
        this.placed.set(id, {
          nodeId: winner.nodeId,
          taskType,
          reason: verdict,
          startedAtMs: nowMs,
          lastMorphAtMs: nowMs,
          lastBusyAtMs: nowMs,
          shadow,
          served: [{ taskType, fromMs: nowMs }],
        });
        outcomes.push(`${id} (${taskType}, claims ${footprint.reason}) placed on ${winner.nodeId}: ${verdict}`);
      }
      this.changed.add(winner.nodeId);
    }
    const why = [...result.reasons, ...refused].join('; ') || 'no live node';
    while (outcomes.length < count) outcomes.push(`no node can take a ${taskType} swarmlet: ${why}`);
    return outcomes;
  }

  private auction(
    taskType: string,
    swarmlets: number,
    demand: Resources,
    nodes: ReadonlyMap<string, LiveNode>,
    nowMs: number,
  ): AuctionResult {
    const { slotLifeMs, health } = this.options;
    const held = new Map<string, { cpu: number; memoryMb: number }>();
    for (const placed of this.placed.values()) {
      // What we already placed there, started or not, each at its type's claim now.
      const claim = this.footprints.of(placed.taskType);
      const sum = held.get(placed.nodeId) ?? { cpu: 0, memoryMb: 0 };
      held.set(placed.nodeId, { cpu: sum.cpu + claim.cpu, memoryMb: sum.memoryMb + claim.memoryMb });
    }
    const bidders: AuctionNode[] = [...nodes].map(([nodeId, { advertisement }]) => ({
      advertisement: { ...advertisement, inUse: held.get(nodeId) ?? { cpu: 0, memoryMb: 0 } },
      health: this.health.get(nodeId) ?? NEW_NODE_HEALTH,
    }));
    return runAuction(
      {
        swarmlets,
        demand: { cpu: demand.cpu, memoryMb: demand.memoryMb },
        taskType,
        expectedDurationMs: slotLifeMs,
        coldStartMs: 100,
      },
      bidders,
      nowMs,
      { health, payment: this.options.payment },
    );
  }
}

/** An auction's verdicts for the record: the first `VERDICTS_KEPT` (winners, by rank, filtered), the rest counted. */
function verdicts(result: AuctionResult, refused: readonly string[]): string[] {
  const kept = result.decisions.slice(0, VERDICTS_KEPT).map((d) => `${d.nodeId}: ${d.reasons[0] ?? d.outcome}`);
  const rest = result.decisions.slice(VERDICTS_KEPT);
  const lost = rest.filter((d) => d.outcome === 'lost').length;
  const filtered = rest.length - lost;
  const more = [...(lost > 0 ? [`${lost} lost (dearer)`] : []), ...(filtered > 0 ? [`${filtered} filtered`] : [])];
  return [
    ...kept,
    ...(more.length > 0 ? [`${more.join(', ')}: ${rest.length} more node(s) not listed`] : []),
    ...refused,
  ];
}
