/**
 * Keep-alive and pre-warm decisions for one app (an owner × task type, or a function row of a
 * trace): whether its environment stays loaded between invocations. Pure: time comes in as
 * `nowMs`; the simulator and the runtime's shadow swarmlets call the same code.
 *
 * For speed (the simulator replays millions of invocations a second) a policy may update the
 * per-app state object it created in place: the state is owned by one app's replay, never shared.
 */

/** What stays loaded after an app goes idle at time `idleAtMs` (all times relative to it). */
export interface WarmPlan {
  /** Keep the environment loaded this long after going idle (0: unload at once). */
  readonly keepAliveMs: number;
  /** Load it again this long after going idle (a pre-warm)… (undefined: no pre-warm) */
  readonly prewarmAfterMs?: number;
  /** …and keep that pre-warmed environment loaded this long. */
  readonly prewarmKeepMs?: number;
}

/** What a policy may know about an app up front (the same for every policy). */
export interface AppProfile {
  readonly appId: string;
  readonly memoryMb: number;
}

/** Passed to `onIdle`. `nextArrivalMs` is the future: only the clairvoyant oracle may read it. */
export interface IdleContext {
  readonly nextArrivalMs: number | undefined;
}

export interface WarmPolicy<S = unknown> {
  readonly name: string;
  /** The published parameters this implementation uses, printed with the results. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  /** True only for the oracle (reads `IdleContext.nextArrivalMs`). */
  readonly clairvoyant?: boolean;
  newApp(app: AppProfile): S;
  /** An invocation arrives at `nowMs`; `cold` says whether it found the environment unloaded. */
  onArrival(state: S, nowMs: number, cold: boolean): void;
  /** The app's last running invocation ended at `nowMs`: plan what stays loaded until the next arrival. */
  onIdle(state: S, nowMs: number, context: IdleContext): WarmPlan;
}

export const UNLOAD_AT_ONCE: WarmPlan = { keepAliveMs: 0 };

/** Whether an arrival `gapMs` after going idle finds the environment loaded under `plan`. */
export function isWarmAfter(plan: WarmPlan, gapMs: number): boolean {
  if (gapMs <= plan.keepAliveMs) return true;
  if (plan.prewarmAfterMs === undefined) return false;
  return gapMs >= plan.prewarmAfterMs && gapMs <= plan.prewarmAfterMs + (plan.prewarmKeepMs ?? 0);
}

/**
 * Loaded-but-idle time during an idle gap of `gapMs` under `plan` (the gap ends at the next arrival or the trace's
 * end).
 */
export function idleLoadedMs(plan: WarmPlan, gapMs: number): number {
  let loadedMs = Math.min(gapMs, plan.keepAliveMs);
  if (plan.prewarmAfterMs !== undefined) {
    const from = Math.max(plan.prewarmAfterMs, plan.keepAliveMs);
    const to = Math.min(gapMs, plan.prewarmAfterMs + (plan.prewarmKeepMs ?? 0));
    if (to > from) loadedMs += to - from;
  }
  return loadedMs;
}
