import type { WarmPolicy } from '../decide/warm/warm-policy.js';
import { checkAccounting } from './invariants.js';
import { summarize, type PolicyResult } from './metrics.js';
import { replayTrace, type AppOutcome } from './replay.js';
import type { Trace } from './trace.js';

/**
 * A policy to replay, with the label it carries in reports (e.g. `adaptive(λ=600s)`): a keep-alive policy for the
 * per-app replay (`make`), or a replay of its own that yields the same per-app outcomes (`replay`: the orchestrator).
 */
export type PolicyEntry = WarmPolicyEntry | ReplayEntry;

interface EntryLabel {
  readonly label: string;
  /** Points of one policy family drawn as a line (a knob sweep) on the Pareto plot. */
  readonly family?: string;
}

export interface WarmPolicyEntry extends EntryLabel {
  readonly make: () => WarmPolicy;
}

export interface ReplayEntry extends EntryLabel {
  readonly replay: (
    trace: Trace,
    run: { readonly seed: number; readonly check: boolean },
  ) => Promise<{ readonly outcomes: AppOutcome[]; readonly details?: object }>;
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
      const { outcomes, details } =
        'replay' in entry
          ? await entry.replay(trace, { seed, check: options.check })
          : {
              outcomes: replayTrace(trace, entry.make(), {
                coldStartMs: options.coldStartMs,
                check: options.check,
                seed,
              }),
              details: undefined,
            };
      const replayMs = performance.now() - startedAtMs;
      checkAccounting(entry.label, seed, calls, outcomes);
      const result = summarize(entry.label, seed, outcomes, replayMs);
      results.push(details === undefined ? result : { ...result, details });
      options.onProgress?.(++done, total, entry.label);
    }
  }
  return { results, invocationsPerSeed };
}
