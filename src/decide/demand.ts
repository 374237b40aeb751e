import type { Snapshot, SwarmletView, TaskTypeLoad } from './snapshot.js';

/** Per task type: what is queued, how long it takes, and who serves it. The unit policies reason in. */
export interface TypeDemand {
  readonly taskType: string;
  /** Micro-tasks that could run now (ready + in flight). */
  readonly backlog: number;
  /** Of those, the ones waiting for a swarmlet (ready, not in flight): only these can use another swarmlet. */
  readonly queued: number;
  /** Known future demand (waiting on dependencies). */
  readonly blocked: number;
  readonly durationMs: number;
  /** backlog × durationMs: the work queued for this type. */
  readonly workMs: number;
  /** Live swarmlets serving (or about to serve) the type. */
  readonly swarmlets: SwarmletView[];
  /** Types whose micro-tasks wait on this type's in the jobs' DAGs. */
  readonly successors: readonly string[];
  /** How far off its duration prediction has been lately (TaskTypeLoad.durationErrorRatio); undefined: not known. */
  readonly durationErrorRatio?: number;
}

/** Expected time to drain a type's backlog with `count` swarmlets (∞ when work waits on none). */
export function drainMs(workMs: number, count: number): number {
  if (workMs <= 0) return 0;
  return count <= 0 ? Number.POSITIVE_INFINITY : workMs / count;
}

export function effectiveType(swarmlet: SwarmletView): string {
  return swarmlet.pendingTaskType ?? swarmlet.taskType;
}

/** Groups the snapshot per task type; `durationOf` supplies the duration estimate (a prediction). */
export function demandByType(snapshot: Snapshot, durationOf: (load: TaskTypeLoad) => number): Map<string, TypeDemand> {
  const demands = new Map<string, TypeDemand>();
  // One pass over the pool (a filter per type was types × swarmlets: most of a tick at 10,000 swarmlets).
  const byType = new Map<string, SwarmletView[]>();
  for (const swarmlet of snapshot.swarmlets) {
    if (swarmlet.state === 'stopped' || swarmlet.state === 'draining') continue;
    const type = effectiveType(swarmlet);
    const group = byType.get(type);
    if (group) group.push(swarmlet);
    else byType.set(type, [swarmlet]);
  }
  for (const load of snapshot.load) {
    const backlog = load.ready + load.inFlight;
    const durationMs = durationOf(load);
    demands.set(load.taskType, {
      taskType: load.taskType,
      backlog,
      queued: load.ready,
      blocked: load.blocked,
      durationMs,
      workMs: backlog * durationMs,
      swarmlets: byType.get(load.taskType) ?? [],
      successors: load.successors ?? [],
      ...(load.durationErrorRatio !== undefined && { durationErrorRatio: load.durationErrorRatio }),
    });
  }
  for (const [type, swarmlets] of byType) {
    if (!demands.has(type))
      demands.set(type, {
        taskType: type,
        backlog: 0,
        queued: 0,
        blocked: 0,
        durationMs: 0,
        workMs: 0,
        swarmlets,
        successors: [],
      });
  }
  return demands;
}

/**
 * Per type, the longest chain of predicted micro-task durations that must still follow its work before the jobs end:
 * over the types waiting on it (with micro-tasks still blocked), their duration plus their own chain. HEFT's upward
 * rank, on task types and learned durations instead of known runtimes. A cycle (a type waiting on itself, as a split's
 * join does) is cut where it closes.
 */
export function chainTailsMs(demands: ReadonlyMap<string, TypeDemand>): Map<string, number> {
  const tails = new Map<string, number>();
  const visiting = new Set<string>();
  const tailOf = (type: string): number => {
    const known = tails.get(type);
    if (known !== undefined) return known;
    if (visiting.has(type)) return 0;
    visiting.add(type);
    let tail = 0;
    for (const next of demands.get(type)?.successors ?? []) {
      const successor = demands.get(next);
      if (successor === undefined || successor.blocked === 0) continue; // nothing of it waits any more
      tail = Math.max(tail, successor.durationMs + tailOf(next));
    }
    visiting.delete(type);
    tails.set(type, tail);
    return tail;
  };
  for (const type of demands.keys()) tailOf(type);
  return tails;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
