import { seededRng } from '../../core/clock.js';
import { adaptivePolicy } from '../../decide/policies/adaptive.js';
import type { Policy } from '../../decide/policy.js';
import { DEFAULT_HEALTH_OPTIONS } from '../../place/node-health.js';
import type { NodeAdvertisement } from '../../place/node-probe.js';
import type { BrokerTask } from '../../runtime/brokers/broker.js';
import type { LiveNode, PlacementDecision } from '../../runtime/cluster/cluster-pool.js';
import { DIRECTOR_POOL } from '../../runtime/cluster/director.js';
import { DirectorLoop, type DirectorDecision } from '../../runtime/cluster/director-loop.js';
import type { TaskPayload } from '../../runtime/cluster/protocol.js';
import type { SimRun } from '../environment/sim-provider.js';
import { VirtualEnvironment } from '../environment/virtual-environment.js';
import { checkRuns } from '../workflow/check-runs.js';
import { lowerBoundMs, workflowBounds } from '../workflow/bounds.js';
import type { Workflow } from '../workflow/load.js';
import { workflowJob, type SimInput } from '../workflow/orchestrator-replay.js';
import { NODE_MODELS } from './node-mix.js';
import { SimNode, type SimSwarmlet, type SimWork } from './sim-node.js';
import { ClusterTally, type SimClusterResult } from './cluster-tally.js';

export interface SimClusterOptions {
  readonly nodes: readonly NodeAdvertisement[];
  /** Seeds the heartbeat phases and which nodes leave when. */
  readonly seed: number;
  /**
   * Each node leaves with this probability × its kind's `leaves` (personal 1, edge 0.5, server 0.1), at a time uniform
   * in [0, max(critical path, 30 s)).
   */
  readonly nodeFailures: number;
  readonly policy?: Policy;
  /** The director's tick (its default: 200 ms). */
  readonly tickMs?: number;
  readonly heartbeatMs?: number;
  /** A heartbeat key lives this long; the director's suspect time is half of it (its defaults: 3 000 ms). */
  readonly nodeTtlMs?: number;
  /** A leased micro-task whose node left returns to the queue after this long (BullMQ's lock; default 3 000 ms). */
  readonly lockDurationMs?: number;
  readonly maxAttempts?: number;
  readonly maxVirtualMs?: number;
  /** Sees the director's state after each tick (the API's views of a large cluster are measured on it). */
  readonly onTick?: (tick: SimTick) => void;
}

/** One tick of the simulated director: its loop and what it saw and decided. */
export interface SimTick {
  readonly loop: DirectorLoop;
  readonly live: ReadonlyMap<string, LiveNode>;
  readonly depths: ReadonlyMap<string, number>;
  readonly outcomes: DirectorDecision['outcomes'];
  readonly decisions: readonly PlacementDecision[];
  readonly nowMs: number;
}

const JOB_KEY = 'workflow';
const LEAVE_WITHIN_MS = 30_000;

/**
 * A workflow run as one job on a simulated cluster: the director's real decisions (DirectorLoop: the job book, the
 * policy's step, the auction, the node lifecycle, failover by lock expiry) on a virtual clock, over simulated agents
 * (sim-node.ts) that start, specialize and retire swarmlets as told and pull micro-tasks from a queue per type. Nodes
 * leave at seeded random times; what they ran returns to the queue and runs elsewhere. Only the director's tick is
 * timed on the wall clock (how its cost grows with nodes); every other number is virtual and deterministic.
 */
export function simulateCluster(workflow: Workflow, options: SimClusterOptions): SimClusterResult {
  const environment = new VirtualEnvironment();
  const rng = seededRng(options.seed);
  const tickMs = options.tickMs ?? 200;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const ttlMs = options.nodeTtlMs ?? 3_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const loop = new DirectorLoop({
    policy: options.policy ?? (adaptivePolicy() as Policy),
    tickMs,
    maxAttempts,
    pool: { ...DIRECTOR_POOL, health: { ...DEFAULT_HEALTH_OPTIONS, ttlMs, suspectAfterMs: ttlMs / 2 } },
  });
  const tally = new ClusterTally(options.nodes);
  const queues = new Map<string, BrokerTask[]>();
  const waiting = new Map<string, Set<SimSwarmlet>>();
  const ran: SimRun[] = [];
  let endMs: number | undefined;
  let failure: string | undefined;

  const enqueue = (task: BrokerTask): void => {
    const idle = waiting.get(task.taskType)?.values().next().value;
    if (idle) {
      waiting.get(task.taskType)!.delete(idle);
      idle.node.run(idle, task);
    } else {
      const queue = queues.get(task.taskType) ?? [];
      queues.set(task.taskType, queue);
      queue.push(task);
    }
  };
  const apply = (entry: Parameters<DirectorLoop['book']['apply']>[0]): void => {
    const { ready, finished } = loop.book.apply(entry, environment.nowMs);
    for (const task of ready) enqueue(loop.book.toBrokerTask(task));
    for (const { outcome } of finished) {
      endMs = environment.nowMs;
      if (outcome.status !== 'done') failure = outcome.error ?? outcome.status;
    }
  };
  const work: SimWork = {
    take: (taskType) => queues.get(taskType)?.shift(),
    waiting: (s) => void (waiting.get(s.taskType) ?? waiting.set(s.taskType, new Set()).get(s.taskType)!).add(s),
    notWaiting: (s) => void waiting.get(s.taskType)?.delete(s),
    runtimeMs: (task) => ((task.payload as TaskPayload).input as SimInput).ms,
    done: (s, task, startMs, finishMs) => {
      const label = (task.payload as TaskPayload).label;
      ran.push({ label, swarmletId: s.id, startMs, endMs: finishMs });
      const result = { id: task.id, status: 'ok', value: label, durationUs: (finishMs - startMs) * 1000 } as const;
      apply({ kind: 'results', nodeId: s.node.id, results: [{ ...result, attempt: task.attempt }] });
      loop.pool.recordResults(s.node.id, 0, environment.nowMs);
    },
    stopped: (s, nowMs) => tally.held(s, nowMs),
  };

  const nodes = options.nodes.map(
    (ad) => new SimNode(ad, NODE_MODELS[ad.kind], environment, work, Math.floor(rng.next() * heartbeatMs), heartbeatMs),
  );
  const byId = new Map(nodes.map((node) => [node.id, node]));
  // Departures fall while the job is likely still running: within its critical path, and no sooner than the first
  // half minute (a short job still meets nodes that leave, as long as it runs past their heartbeats).
  const horizonMs = Math.max(workflowBounds(workflow).criticalPathMs, LEAVE_WITHIN_MS);
  for (const node of nodes) {
    if (rng.next() >= options.nodeFailures * node.model.leaves) continue;
    environment.timers.after(rng.next() * horizonMs, () => {
      tally.left(node);
      for (const task of node.leave(environment.nowMs)) {
        tally.failover();
        // Its lock expires and BullMQ's stalled check hands it out again, as the same attempt: a stall is the node's
        // fault, not the task's (bullmq-queues.ts never fails a task for stalling).
        environment.timers.after(options.lockDurationMs ?? 3_000, () => enqueue(task));
      }
    });
  }

  const tick = (): void => {
    const nowMs = environment.nowMs;
    const live = new Map<string, LiveNode>();
    for (const node of nodes) {
      const seen = node.liveNode(nowMs, ttlMs);
      if (seen) live.set(node.id, seen);
    }
    // Timed from here: the director's own work (reading and parsing the heartbeats from Redis is not modelled).
    const started = performance.now();
    loop.pool.observe(live, nowMs);
    const depths = new Map([...queues].map(([taskType, queue]) => [taskType, queue.length]));
    const { outcomes } = loop.decide(live, depths, nowMs);
    const changed = loop.pool.takeChanged();
    const tookMs = performance.now() - started;
    const decisions = loop.pool.takeDecisions();
    tally.tick(tookMs, outcomes, decisions.length, loop.pool.takeTransitions());
    options.onTick?.({ loop, live, depths, outcomes, decisions, nowMs });
    for (const { nodeId, state } of changed) byId.get(nodeId)?.reconcile(state);
  };

  for (const taskType of workflow.types) loop.book.addTaskType({ taskType, hasJoin: false, hintDurationMs: undefined });
  apply({ kind: 'job', jobKey: JOB_KEY, job: workflowJob(workflow), modules: [...workflow.types] });
  const cancelTicks = environment.timers.every(tickMs, tick);
  const limitMs = options.maxVirtualMs ?? 30 * 24 * 3_600_000;
  while (endMs === undefined && environment.nowMs <= limitMs && environment.step());
  cancelTicks();
  const finalMs = endMs ?? environment.nowMs;
  for (const node of nodes) for (const s of node.swarmlets.values()) tally.held(s, finalMs);
  const slots = loop.pool.limits(new Map(options.nodes.map((ad) => [ad.nodeId, { advertisement: ad } as LiveNode])));
  const violations = [
    ...(endMs === undefined ? [`the job did not finish within ${Math.round(limitMs)} ms virtual`] : []),
    ...(failure === undefined ? [] : [`the job failed: ${failure}`]),
    ...checkRuns(workflow, ran, slots.maxSwarmlets),
  ];
  return tally.result({
    makespanMs: finalMs,
    lowerBoundMs: lowerBoundMs(workflowBounds(workflow), Math.max(1, slots.maxSwarmlets)),
    events: environment.fired,
    violations,
  });
}
