import type { WarmPlan, WarmPolicy } from './warm-policy.js';

/**
 * Apache OpenWhisk's invoker, with its shipped defaults:
 * - a container that ran an action stays warm until it has been unused for
 *   `whisk.container-proxy.timeouts.idle-container = 10 minutes`
 *   (core/invoker/src/main/resources/application.conf); 50 ms after each run it is paused
 *   (`pause-grace = 50 milliseconds`), but a paused container keeps its memory and resumes
 *   without a cold start, so in this model it is loaded (and idle) for the whole 10 minutes;
 * - "stem cell" pre-warmed containers (ansible/files/runtimes.json, default nodejs kind:
 *   `initialCount 2, memory 256 MB, reactive { minCount 1, maxCount 4, ttl 2 minutes,
 *   threshold 1, increment 1 }`): generic runtime containers with no action code, kept per
 *   invoker and runtime kind and refilled reactively as cold starts consume them.
 *
 * How stem cells are represented: they are not per app. A stem cell saves the container boot of a
 * cold start, but the action's code must still be fetched and initialised (`/init`), so the app's
 * environment is not loaded: at app level that arrival is still cold. Its memory is a shared pool
 * (≥ minCount × 256 MB per invoker and runtime kind, whatever the apps do), which cannot be
 * attributed to one app honestly, so it is not counted in the per-app idle memory either: add it
 * to the cluster as a fixed overhead if comparing whole-cluster memory. What remains per app is
 * exactly a 10-minute keep-alive; memory-pressure evictions (LRU when the invoker's
 * `user-memory` is full) are not modelled, as no policy here has a capacity limit.
 */
const IDLE_CONTAINER_MS = 10 * 60_000;
const PLAN: WarmPlan = { keepAliveMs: IDLE_CONTAINER_MS };

export function openWhiskPolicy(): WarmPolicy<null> {
  return {
    name: 'openwhisk',
    params: {
      idleContainerMs: IDLE_CONTAINER_MS,
      pauseGraceMs: 50,
      stemCellsPerKind: 2,
      stemCellMemoryMb: 256,
      stemCellReactive: 'minCount 1, maxCount 4, ttl 2 min, threshold 1, increment 1',
      stemCellsCounted: 'no (shared pool, not per app; app code still loads on a stem cell)',
      source: 'apache/openwhisk invoker application.conf + ansible/files/runtimes.json',
    },
    newApp: () => null,
    onArrival: () => undefined,
    onIdle: () => PLAN,
  };
}
