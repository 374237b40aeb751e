import type { Resources } from '../core/resources.js';
import { consentAllowsWork, consentLimits, EPSILON } from './consent.js';
import { formatAmount } from './format.js';
import { DEFAULT_HEALTH_OPTIONS, liveness, type HealthOptions } from './node-health.js';
import type { AuctionNode } from './offers.js';

/**
 * What must move, and why, when a node may no longer hold its work: consent revoked, outside its
 * consent hours, idle-only with the owner back, caps lowered below what is in use, or the agent
 * dead (no heartbeat for longer than the ttl: the bounded failover time). Revocation drains at once;
 * no grace period, because consent is the owner's, not ours.
 *
 * Pure: the caller drains the listed swarmlets, requeues the listed micro-tasks and auctions the
 * replacements without the drained nodes.
 */

export interface RunningSwarmlet {
  readonly swarmletId: string;
  readonly nodeId: string;
  readonly taskType: string;
  readonly demand: Resources;
  /** Micro-tasks running on it or queued to it: reassigned when it drains. */
  readonly microTaskIds: readonly string[];
}

export interface Drain {
  readonly swarmletId: string;
  readonly nodeId: string;
  readonly reason: string;
}

export interface Reassignment {
  readonly microTaskId: string;
  readonly fromSwarmletId: string;
  readonly fromNodeId: string;
  readonly taskType: string;
}

/** Swarmlets to start elsewhere, grouped by shape: feed each to `runAuction` without the drained nodes. */
export interface Replacement {
  readonly taskType: string;
  readonly demand: Resources;
  readonly swarmlets: number;
  readonly fromNodeIds: readonly string[];
}

export interface DrainPlan {
  readonly drains: readonly Drain[];
  readonly reassignments: readonly Reassignment[];
  readonly replacements: readonly Replacement[];
}

/**
 * `running` lists what each node holds now. A node that must stop entirely drains everything; a node
 * whose caps shrank drains its swarmlets with the fewest micro-tasks first until the rest fits.
 * Hours windows here are checked at `nowMs` only: work already running is not judged on its future.
 */
export function drainPlan(
  nodes: readonly AuctionNode[],
  running: readonly RunningSwarmlet[],
  nowMs: number,
  health: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): DrainPlan {
  const byNode = new Map(nodes.map((node) => [node.advertisement.nodeId, node]));
  const drains: Drain[] = [];
  for (const [nodeId, swarmlets] of groupBy(running, (swarmlet) => swarmlet.nodeId)) {
    const node = byNode.get(nodeId);
    const stopReason =
      node === undefined ? 'node is not registered (never heard or removed)' : mustStop(node, nowMs, health);
    if (stopReason !== undefined) {
      for (const swarmlet of swarmlets) drains.push({ swarmletId: swarmlet.swarmletId, nodeId, reason: stopReason });
    } else {
      drains.push(...overCapDrains(node as AuctionNode, swarmlets));
    }
  }
  const drained = new Set(drains.map((drain) => drain.swarmletId));
  const moving = running.filter((swarmlet) => drained.has(swarmlet.swarmletId));
  const reassignments = moving.flatMap((swarmlet) =>
    swarmlet.microTaskIds.map((microTaskId) => ({
      microTaskId,
      fromSwarmletId: swarmlet.swarmletId,
      fromNodeId: swarmlet.nodeId,
      taskType: swarmlet.taskType,
    })),
  );
  const replacements = [
    ...groupBy(
      moving,
      (swarmlet) => `${swarmlet.taskType}|${swarmlet.demand.cpu}|${swarmlet.demand.memoryMb}`,
    ).values(),
  ].map((group) => {
    const first = group[0] as RunningSwarmlet;
    return {
      taskType: first.taskType,
      demand: first.demand,
      swarmlets: group.length,
      fromNodeIds: [...new Set(group.map((swarmlet) => swarmlet.nodeId))],
    };
  });
  return { drains, reassignments, replacements };
}

function mustStop(node: AuctionNode, nowMs: number, health: HealthOptions): string | undefined {
  const alive = liveness(node.health.lastHeartbeatMs, nowMs, health);
  if (alive.state === 'dead') return alive.reason;
  const verdict = consentAllowsWork(node.advertisement, nowMs, 0);
  return verdict.ok ? undefined : verdict.reason;
}

/**
 * Keeps the swarmlets with the most micro-tasks (least to move) while the total stays within capacity and consent caps.
 */
function overCapDrains(node: AuctionNode, swarmlets: readonly RunningSwarmlet[]): Drain[] {
  const { capacity } = node.advertisement;
  const limits = consentLimits(node.advertisement);
  const cap = { cpu: Math.min(capacity.cpu, limits.cpu), memoryMb: Math.min(capacity.memoryMb, limits.memoryMb) };
  const order = [...swarmlets].sort(
    (a, b) => b.microTaskIds.length - a.microTaskIds.length || (a.swarmletId < b.swarmletId ? -1 : 1),
  );
  const drains: Drain[] = [];
  let cpu = 0;
  let memoryMb = 0;
  for (const swarmlet of order) {
    if (
      cpu + swarmlet.demand.cpu <= cap.cpu + EPSILON &&
      memoryMb + swarmlet.demand.memoryMb <= cap.memoryMb + EPSILON
    ) {
      cpu += swarmlet.demand.cpu;
      memoryMb += swarmlet.demand.memoryMb;
      continue;
    }
    const reason = `over the node's caps (${formatAmount(cap.cpu)} cores, ${formatAmount(cap.memoryMb)} MB under consent maxCpuShare ${formatAmount(node.advertisement.consent.maxCpuShare)}): keeping swarmlets with more micro-tasks`;
    drains.push({ swarmletId: swarmlet.swarmletId, nodeId: swarmlet.nodeId, reason });
  }
  return drains;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name);
    if (group === undefined) groups.set(name, [item]);
    else group.push(item);
  }
  return groups;
}
