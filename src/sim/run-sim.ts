import type { WarmPolicy } from '../decide/warm/warm-policy.js';
import { checkAccounting } from './invariants.js';
import { summarize, type PolicyResult } from './metrics.js';
import { replayTrace } from './replay.js';
import type { Trace } from './trace.js';

/** A policy to replay, with the label it carries in reports (e.g. `adaptive(λ=600s)`). */
export interface PolicyEntry {
  readonly label: string;
  readonly make: () => WarmPolicy;
  /** Points of one policy family drawn as a line (a knob sweep) on the Pareto plot. */
  readonly family?: string;
}

export interface SimOptions {
  readonly seeds: readonly number[];
  readonly coldStartMs: number;
  readonly check: boolean;
  /** Builds the trace for a seed (arrival placement and sampled durations depend on it). */
  readonly traceFor: (seed: number) => Promise<Trace>;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface SimRun {
  readonly results: PolicyResult[];
  readonly invocationsPerSeed: number[];
}

/**
 * Replays every policy on every seed's trace. The clock is virtual and each replay is
 * deterministic, so the same seeds give byte-identical results (the report leaves out timings).
 */
export async function runSimulation(policies: readonly PolicyEntry[], options: SimOptions): Promise<SimRun> {
  const results: PolicyResult[] = [];
  const invocationsPerSeed: number[] = [];
  const total = policies.length * options.seeds.length;
  let done = 0;
  for (const seed of options.seeds) {
    const trace = await options.traceFor(seed);
    const calls = trace.apps.reduce((sum, app) => sum + app.arrivalsMs.length, 0);
    invocationsPerSeed.push(calls);
    for (const entry of policies) {
      const startedAtMs = performance.now();
      const outcomes = replayTrace(trace, entry.make(), {
        coldStartMs: options.coldStartMs,
        check: options.check,
        seed,
      });
      const replayMs = performance.now() - startedAtMs;
      checkAccounting(entry.label, seed, calls, outcomes);
      results.push({ ...summarize(entry.label, seed, outcomes, replayMs) });
      options.onProgress?.(++done, total, entry.label);
    }
  }
  return { results, invocationsPerSeed };
}
