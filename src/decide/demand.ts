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
      });
  }
  return demands;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
