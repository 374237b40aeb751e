import type { AppOutcome } from './replay.js';

/** One policy on one seed, measured the way the literature does (see ../shared/traces/README.md). */
export interface PolicyResult {
  readonly policy: string;
  readonly seed: number;
  readonly apps: number;
  /** Apps with at least two calls: the population of the per-app percentiles. */
  readonly appsWithTwoCalls: number;
  readonly calls: number;
  readonly coldStarts: number;
  /** Cold starts / calls over all invocations (first calls included). */
  readonly coldPercentOverall: number;
  /** 75th percentile over apps (≥ 2 calls) of the app's cold-start %, its compulsory first call excluded. */
  readonly p75AppColdPercent: number;
  /** The same with first calls counted (labelled: a never-unload policy already sits high here). */
  readonly p75AppColdPercentWithFirst: number;
  readonly wastedGbSeconds: number;
  readonly replayMs: number;
  /** What a replay of its own reports besides (the orchestrator's actions, pool and waits); deterministic. */
  readonly details?: object;
}

/** Linear-interpolated percentile (as numpy's default), p in 0..100. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function summarize(
  policy: string,
  seed: number,
  outcomes: readonly AppOutcome[],
  replayMs: number,
): PolicyResult {
  const withoutFirst: number[] = [];
  const withFirst: number[] = [];
  let calls = 0;
  let coldStarts = 0;
  let wastedMbMs = 0;
  for (const app of outcomes) {
    calls += app.calls;
    coldStarts += app.coldStarts;
    wastedMbMs += app.wastedMbMs;
    if (app.calls < 2) continue;
    withoutFirst.push((100 * (app.coldStarts - 1)) / (app.calls - 1));
    withFirst.push((100 * app.coldStarts) / app.calls);
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    policy,
    seed,
    apps: outcomes.length,
    appsWithTwoCalls: withoutFirst.length,
    calls,
    coldStarts,
    coldPercentOverall: calls > 0 ? (100 * coldStarts) / calls : 0,
    p75AppColdPercent: percentile(withoutFirst.sort(ascending), 75),
    p75AppColdPercentWithFirst: percentile(withFirst.sort(ascending), 75),
    wastedGbSeconds: wastedMbMs / 1024 / 1000,
    replayMs,
  };
}
