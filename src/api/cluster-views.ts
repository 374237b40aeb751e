import { DEFAULT_HEALTH_OPTIONS, estimateReliability } from '../place/node-health.js';
import type { ClusterDirector } from '../runtime/cluster/director.js';
import type { SwarmletStatus } from '../runtime/cluster/protocol.js';
import type { NodeView, SwarmletView } from './schemas.js';

/** Auction verdicts shown per node, newest first. */
const VERDICTS_SHOWN = 5;

/**
 * The swarmlets the director wants (placed by auction) with what their agents last reported, then those agents report
 * that it no longer wants (draining, stopping).
 */
export function clusterSwarmlets(director: ClusterDirector): SwarmletView[] {
  const reported = reportedSwarmlets(director);
  const morphs = morphsBySwarmlet(director);
  const views: SwarmletView[] = [];
  for (const [id, placed] of director.clusterPool.placements()) {
    const status = reported.get(id)?.status;
    views.push(
      clean({
        id,
        node: placed.nodeId,
        state: placedState(placed.taskType, status),
        taskType: placed.taskType,
        warmTypes: [placed.taskType],
        startedAtMs: placed.startedAtMs,
        ...measured(status),
        inFlight: status?.inFlight ?? 0,
        served: placed.served.map((s) => ({ ...s })),
        morphs: morphs.get(id) ?? [],
      }),
    );
    reported.delete(id);
  }
  for (const [id, { nodeId, status }] of reported)
    views.push(
      clean({
        id,
        node: nodeId,
        state: status.state,
        taskType: status.taskType,
        warmTypes: [status.taskType],
        startedAtMs: director.lastNodes.get(nodeId)?.heartbeat.atMs ?? 0,
        ...measured(status),
        inFlight: status.inFlight,
        served: [],
        morphs: morphs.get(id) ?? [],
      }),
    );
  return views;
}

/**
 * Each swarmlet's task type and state as clusterSwarmlets says them, without building its view (its timeline and
 * morphs): what the status and /metrics count, several times a second while a dashboard is open.
 */
export function clusterSwarmletStates(director: ClusterDirector): { taskType: string; state: string }[] {
  const reported = reportedSwarmlets(director);
  const states: { taskType: string; state: string }[] = [];
  for (const [id, placed] of director.clusterPool.placements()) {
    states.push({ taskType: placed.taskType, state: placedState(placed.taskType, reported.get(id)?.status) });
    reported.delete(id);
  }
  for (const { status } of reported.values()) states.push({ taskType: status.taskType, state: status.state });
  return states;
}

/** What agents last reported of each swarmlet, by id. */
function reportedSwarmlets(director: ClusterDirector): Map<string, { nodeId: string; status: SwarmletStatus }> {
  const reported = new Map<string, { nodeId: string; status: SwarmletStatus }>();
  for (const [nodeId, { heartbeat }] of director.lastNodes)
    for (const status of heartbeat.swarmlets) reported.set(status.id, { nodeId, status });
  return reported;
}

/** A wanted swarmlet is starting until its agent reports it serving the type it is wanted for. */
function placedState(taskType: string, status: SwarmletStatus | undefined): string {
  return status !== undefined && status.taskType === taskType && status.state !== 'stopped' ? status.state : 'starting';
}

function measured(status: SwarmletStatus | undefined) {
  return { cpuPercent: status?.cpuPercent, rssMb: status?.rssMb, tasksDone: status?.tasksDone };
}

function morphsBySwarmlet(director: ClusterDirector): Map<string, { atMs: number; kind: string; reason: string }[]> {
  const bySwarmlet = new Map<string, { atMs: number; kind: string; reason: string }[]>();
  for (const { atMs, action } of director.records.morphs()) {
    if (!('swarmletId' in action) || action.swarmletId === undefined) continue;
    const list = bySwarmlet.get(action.swarmletId) ?? [];
    list.push({ atMs, kind: action.kind, reason: action.reason });
    bySwarmlet.set(action.swarmletId, list);
  }
  return bySwarmlet;
}

/**
 * Every node the director has seen (dead ones too): its probe (kind, price, capacity under consent caps), lifecycle
 * state, measured reliability and round-trip latency, desired swarmlets, and its verdicts in the latest auctions.
 */
export function clusterNodes(director: ClusterDirector, nowMs: number): NodeView[] {
  const pool = director.clusterPool;
  const verdicts = verdictsByNode(director);
  const desired = new Map<string, number>();
  for (const placed of pool.placements().values()) desired.set(placed.nodeId, (desired.get(placed.nodeId) ?? 0) + 1);
  return [...pool.nodeStates()].map(([nodeId, state]) => {
    const advertisement = director.lastNodes.get(nodeId)?.advertisement;
    const health = pool.healthOf(nodeId);
    return clean({
      id: nodeId,
      kind: advertisement?.kind ?? 'unknown',
      labels: advertisement ? { ...advertisement.labels } : undefined,
      state,
      price: advertisement?.pricePerCoreSecond ?? 0,
      reliability: health && estimateReliability(health.reliability, nowMs, DEFAULT_HEALTH_OPTIONS).value,
      latencyMs: health?.latency.value,
      swarmlets: desired.get(nodeId) ?? 0,
      capacity: advertisement ? pool.capacityOf(advertisement).slots : 0,
      verdicts: verdicts.get(nodeId) ?? [],
    });
  });
}

/** Each auction's reasons read `<node>: <verdict>`; the last VERDICTS_SHOWN per node, newest first. */
function verdictsByNode(director: ClusterDirector): Map<string, { atMs: number; taskType: string; verdict: string }[]> {
  const byNode = new Map<string, { atMs: number; taskType: string; verdict: string }[]>();
  const auctions = director.records.recentAuctions();
  for (let i = auctions.length - 1; i >= 0; i--) {
    const { atMs, taskType, reasons } = auctions[i]!;
    for (const reason of reasons) {
      const at = reason.indexOf(': ');
      if (at < 0) continue;
      const list = byNode.get(reason.slice(0, at)) ?? [];
      if (list.length < VERDICTS_SHOWN) list.push({ atMs, taskType, verdict: reason.slice(at + 2) });
      byNode.set(reason.slice(0, at), list);
    }
  }
  return byNode;
}

/** JSON drops undefined anyway; the response schemas say optional, not undefined. */
export function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
