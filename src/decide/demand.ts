import type { Snapshot, SwarmletView, TaskTypeLoad } from './snapshot.js';

/** Per task type: what is queued, how long it takes, and who serves it. The unit policies reason in. */
export interface TypeDemand {
  readonly taskType: string;
  /** Micro-tasks that could run now (ready + in flight). */
  readonly backlog: number;
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
  const live = snapshot.swarmlets.filter((s) => s.state !== 'stopped' && s.state !== 'draining');
  for (const load of snapshot.load) {
    const backlog = load.ready + load.inFlight;
    const durationMs = durationOf(load);
    demands.set(load.taskType, {
      taskType: load.taskType,
      backlog,
      blocked: load.blocked,
      durationMs,
      workMs: backlog * durationMs,
      swarmlets: live.filter((s) => effectiveType(s) === load.taskType),
    });
  }
  for (const swarmlet of live) {
    const type = effectiveType(swarmlet);
    if (!demands.has(type)) {
      demands.set(type, {
        taskType: type,
        backlog: 0,
        blocked: 0,
        durationMs: 0,
        workMs: 0,
        swarmlets: live.filter((s) => effectiveType(s) === type),
      });
    }
  }
  return demands;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
