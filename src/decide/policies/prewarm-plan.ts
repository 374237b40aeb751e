import type { Action } from '../../core/actions.js';
import { formatMs } from '../demand.js';
import { liveSwarmlets, type JobProfileView, type Snapshot, type SwarmletView } from '../snapshot.js';

export interface PrewarmParams {
  /** Pre-warm a type this long before history says a running job will first need it. */
  readonly lookaheadMs: number;
  /** A shadow that got no work this long after its type's predicted first demand is reclaimed. */
  readonly reclaimAfterMs: number;
}

/**
 * Shadow swarmlets from job history: when a running job has run before, each task type it will
 * need is loaded and warmed ahead of its predicted first demand — into a free slot as a new
 * shadow swarmlet, else preloaded into running swarmlets so a later specialization is instant.
 * Shadows whose prediction expired without work are reclaimed, except while the type's keep-alive plan still wants it
 * loaded (`keptWarm`: the keep-warm shadows are the plan's, held for its pre-warm window).
 */
export function prewarmActions(
  snapshot: Snapshot,
  used: ReadonlySet<string>,
  params: PrewarmParams,
  keptWarm: (taskType: string) => boolean = () => false,
  live: readonly SwarmletView[] = liveSwarmlets(snapshot),
): Action[] {
  // No running job has history (most ticks, and every first run): only shadows may be due for reclaiming.
  if (snapshot.jobProfiles.length === 0) return reclaimActions(snapshot, live, used, params, keptWarm);
  const actions: Action[] = [];
  let free = snapshot.limits.maxSwarmlets - live.length;
  const preloading = new Set<string>();
  // Types with work queued or running are the rebalancer's business: pre-warming is for demand to come.
  const busyTypes = new Set(
    snapshot.load.filter((load) => load.ready + load.inFlight > 0).map((load) => load.taskType),
  );
  for (const profile of snapshot.jobProfiles) {
    for (const type of profile.types) {
      const dueInMs = profile.startedAtMs + type.firstDemandOffsetMs - snapshot.nowMs;
      if (dueInMs > params.lookaheadMs || busyTypes.has(type.taskType)) continue;
      const reason = `job ${profile.jobKey} (${profile.runs} earlier run${profile.runs > 1 ? 's' : ''}) needs ${type.taskType} ${dueInMs > 0 ? `in ~${formatMs(dueInMs)}` : 'now'}`;
      const warm = live.filter((s) => s.taskType === type.taskType || s.warmTypes.includes(type.taskType));
      if (warm.length === 0 && free > 0 && !live.some((s) => s.state === 'starting' && s.taskType === type.taskType)) {
        actions.push({ kind: 'prewarm', taskType: type.taskType, reason: `${reason}: shadow swarmlet` });
        free -= 1;
        continue;
      }
      for (const swarmlet of live) {
        const key = `${swarmlet.id}/${type.taskType}`;
        if (!canPreload(swarmlet, type.taskType, used) || preloading.has(key)) continue;
        preloading.add(key);
        actions.push({
          kind: 'prewarm',
          taskType: type.taskType,
          swarmletId: swarmlet.id,
          reason: `${reason}: preload`,
        });
      }
    }
  }
  return [...actions, ...reclaimActions(snapshot, live, used, params, keptWarm)];
}

function canPreload(swarmlet: SwarmletView, taskType: string, used: ReadonlySet<string>): boolean {
  // A starting swarmlet may take preloads too: they load right after its first type.
  const up =
    swarmlet.state === 'starting' ||
    swarmlet.state === 'warming' ||
    swarmlet.state === 'idle' ||
    swarmlet.state === 'busy';
  return up && !used.has(swarmlet.id) && swarmlet.taskType !== taskType && !swarmlet.warmTypes.includes(taskType);
}

function reclaimActions(
  snapshot: Snapshot,
  live: readonly SwarmletView[],
  used: ReadonlySet<string>,
  params: PrewarmParams,
  keptWarm: (taskType: string) => boolean,
): Action[] {
  const actions: Action[] = [];
  for (const shadow of live.filter((s) => s.shadow && s.state === 'idle' && !used.has(s.id))) {
    // A keep-warm shadow waits for its window to close (reclaimed after 5 s, one 14 s window took two starts).
    if (keptWarm(shadow.taskType)) continue;
    const expectedAtMs = latestExpected(snapshot.jobProfiles, shadow.taskType);
    const expiredMs = expectedAtMs === undefined ? snapshot.nowMs - shadow.startedAtMs : snapshot.nowMs - expectedAtMs;
    if (expiredMs < params.reclaimAfterMs) continue;
    actions.push({
      kind: 'reclaim',
      swarmletId: shadow.id,
      reason: `shadow for ${shadow.taskType} got no work ${formatMs(expiredMs)} after its predicted demand`,
    });
  }
  return actions;
}

function latestExpected(profiles: readonly JobProfileView[], taskType: string): number | undefined {
  let latest: number | undefined;
  for (const profile of profiles) {
    const type = profile.types.find((t) => t.taskType === taskType);
    if (type) latest = Math.max(latest ?? Number.NEGATIVE_INFINITY, profile.startedAtMs + type.firstDemandOffsetMs);
  }
  return latest;
}
