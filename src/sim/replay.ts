import { idleLoadedMs, isWarmAfter, type WarmPlan, type WarmPolicy } from '../decide/warm/warm-policy.js';
import { checkArrival, checkPlan, type InvariantContext } from './invariants.js';
import type { Trace, TraceApp } from './trace.js';

/** What one app saw under one policy. */
export interface AppOutcome {
  readonly appId: string;
  readonly calls: number;
  readonly coldStarts: number;
  /** Idle memory-time: MB × ms loaded but not running (pre-warmed time included) until the trace's end. */
  readonly wastedMbMs: number;
}

export interface ReplayOptions {
  /** Extra time a cold start adds before the execution (keeps the environment busy, not idle). */
  readonly coldStartMs: number;
  /** Run the invariant checkers on every event (slower; on in tests and by default in `sim`). */
  readonly check: boolean;
  /** Printed with any invariant failure so it can be reproduced. */
  readonly seed: number;
}

/**
 * Replays every app of a trace under one keep-alive/pre-warm policy: a discrete-event replay
 * (events are arrivals and idle starts, visited in time order per app; apps do not interact in
 * this model, so each app is replayed on its own). Deterministic: no clock, no randomness.
 */
export function replayTrace(trace: Trace, policy: WarmPolicy, options: ReplayOptions): AppOutcome[] {
  return trace.apps.map((app) => replayApp(app, trace.endMs, policy, options));
}

function replayApp(app: TraceApp, endMs: number, policy: WarmPolicy, options: ReplayOptions): AppOutcome {
  const { arrivalsMs, durationsMs } = app;
  const state = policy.newApp({ appId: app.appId, memoryMb: app.memoryMb });
  const context: InvariantContext = { appId: app.appId, policy: policy.name, seed: options.seed };
  let coldStarts = 0;
  let idleMs = 0;
  let busyUntilMs = Number.NEGATIVE_INFINITY;
  let idleAtMs = Number.NaN; // NaN: not loaded yet (before the first call)
  let plan: WarmPlan | undefined;
  const count = arrivalsMs.length;
  for (let i = 0; i < count; i++) {
    const arrivalMs = arrivalsMs[i]!;
    let cold: boolean;
    if (plan === undefined)
      cold = arrivalMs >= busyUntilMs; // the first call, or still busy
    else {
      const gapMs = arrivalMs - idleAtMs;
      cold = !isWarmAfter(plan, gapMs);
      idleMs += idleLoadedMs(plan, gapMs);
      plan = undefined;
    }
    if (options.check)
      checkArrival(context, i, arrivalMs, i > 0 ? arrivalsMs[i - 1]! : Number.NEGATIVE_INFINITY, idleMs);
    if (cold) coldStarts += 1;
    policy.onArrival(state, arrivalMs, cold);
    const endOfRunMs = arrivalMs + (cold ? options.coldStartMs : 0) + durationsMs[i]!;
    if (endOfRunMs > busyUntilMs) busyUntilMs = endOfRunMs;
    const nextMs = i + 1 < count ? arrivalsMs[i + 1]! : undefined;
    // still running when the next call comes: it finds the environment loaded
    if (nextMs !== undefined && nextMs < busyUntilMs) continue;
    idleAtMs = busyUntilMs;
    plan = policy.onIdle(state, idleAtMs, { nextArrivalMs: nextMs });
    if (options.check) checkPlan(context, i, plan);
  }
  if (plan !== undefined && endMs > idleAtMs) idleMs += idleLoadedMs(plan, endMs - idleAtMs);
  return { appId: app.appId, calls: count, coldStarts, wastedMbMs: idleMs * app.memoryMb };
}
