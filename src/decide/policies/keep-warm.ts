import type { Action } from '../../core/actions.js';
import { isWarmAfter, type WarmPlan, type WarmPolicy } from '../warm/warm-policy.js';
import { formatMs } from '../demand.js';
import { liveSwarmlets, type Snapshot, type SwarmletView } from '../snapshot.js';

interface App {
  readonly state: unknown;
  busy: boolean;
  idleAtMs: number;
  plan: WarmPlan | undefined;
}

/**
 * The simulator's keep-alive/pre-warm policy (decide/warm) applied to the runtime: each task type
 * is an app whose "invocations" are its bursts of demand. When a type goes idle the policy plans
 * what stays loaded; idle swarmlets of the type are stopped when the plan says unload, and a
 * shadow is started (or the type preloaded) when the plan's pre-warm window opens.
 * Mutable by design (like the simulator's per-app state): owned by one adaptive policy's state.
 */
export class KeepWarm {
  private readonly apps = new Map<string, App>();

  constructor(
    private readonly policy: WarmPolicy,
    /** How long a swarmlet takes to start: shadows are started that long plus a tick before their window opens. */
    private readonly startMs = 0,
  ) {}

  /**
   * Feeds each type's busy/idle transitions since the last tick to the policy. A burst that came and went between two
   * ticks (micro-tasks shorter than a tick: nothing queued or in flight at either) is seen by what completed in the
   * window: an arrival and an idle at this tick (its plan starts over, as it would had a tick caught it running).
   */
  observe(snapshot: Snapshot): void {
    for (const load of snapshot.load) {
      const active = load.ready + load.inFlight + load.blocked > 0;
      const cameAndWent = !active && load.completedInWindow > 0;
      let app = this.apps.get(load.taskType);
      if (!app) {
        if (!active && !cameAndWent) continue;
        app = {
          state: this.policy.newApp({ appId: load.taskType, memoryMb: snapshot.limits.swarmletMemoryMb }),
          busy: false,
          idleAtMs: Number.NaN,
          plan: undefined,
        };
        this.apps.set(load.taskType, app);
      }
      if ((active || cameAndWent) && !app.busy) {
        const warm = snapshot.swarmlets.some(
          (s) => s.state !== 'stopped' && (s.taskType === load.taskType || s.warmTypes.includes(load.taskType)),
        );
        this.policy.onArrival(app.state, snapshot.nowMs, !warm);
        app.busy = true;
        app.plan = undefined;
      }
      if (!active && app.busy) {
        app.busy = false;
        app.idleAtMs = snapshot.nowMs;
        app.plan = this.policy.onIdle(app.state, snapshot.nowMs, { nextArrivalMs: undefined });
      }
    }
  }

  /** Whether the plan wants the type loaded now; undefined while it is busy or has no plan yet. */
  wantsLoaded(taskType: string, nowMs: number): boolean | undefined {
    const app = this.apps.get(taskType);
    if (!app || app.busy || !app.plan) return undefined;
    return isWarmAfter(app.plan, nowMs - app.idleAtMs);
  }

  describe(taskType: string, nowMs: number): string {
    const app = this.apps.get(taskType);
    if (!app?.plan) return 'no plan';
    const { keepAliveMs, prewarmAfterMs, prewarmKeepMs } = app.plan;
    const window =
      prewarmAfterMs === undefined
        ? ''
        : `, pre-warm ${formatMs(prewarmAfterMs)}–${formatMs(prewarmAfterMs + (prewarmKeepMs ?? 0))}`;
    return `idle ${formatMs(nowMs - app.idleAtMs)}; plan: keep ${formatMs(keepAliveMs)}${window}`;
  }

  /**
   * Shadows (or preloads) for types whose pre-warm window is open, or opens before a swarmlet started now and one
   * tick later would be loaded (a shadow started as the window opened was loaded a start too late: an arrival at the
   * window's edge found it starting), and that are warm nowhere.
   */
  prewarms(
    snapshot: Snapshot,
    used: ReadonlySet<string>,
    live: readonly SwarmletView[] = liveSwarmlets(snapshot),
  ): Action[] {
    const actions: Action[] = [];
    let free = snapshot.limits.maxSwarmlets - live.length;
    const aheadMs = snapshot.nowMs + snapshot.windowMs + this.startMs;
    let warmTypes: Set<string> | undefined; // built once, when a window is due (a scan per type was types × pool)
    for (const [taskType, app] of this.apps) {
      if (app.busy || !app.plan || app.plan.prewarmAfterMs === undefined) continue;
      const due = this.wantsLoaded(taskType, snapshot.nowMs) === true || this.wantsLoaded(taskType, aheadMs) === true;
      if (!due) continue;
      warmTypes ??= new Set(live.flatMap((s) => [s.taskType, ...s.warmTypes]));
      if (warmTypes.has(taskType)) continue;
      const reason = `adaptive keep-alive expects ${taskType} again (${this.describe(taskType, snapshot.nowMs)})`;
      if (free > 0) {
        actions.push({ kind: 'prewarm', taskType, reason: `${reason}: shadow swarmlet` });
        free -= 1;
        continue;
      }
      const host = live.find((s) => !used.has(s.id) && (s.state === 'idle' || s.state === 'busy'));
      if (host) actions.push({ kind: 'prewarm', taskType, swarmletId: host.id, reason: `${reason}: preload` });
    }
    return actions;
  }
}
