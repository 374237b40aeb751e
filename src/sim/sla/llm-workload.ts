import { seededRng } from '../../core/clock.js';
import type { LlmRequests } from '../traces/azure-llm.js';
import type { PriorityClass, SlaRequest } from './sla-replay.js';

/** How the LLM trace becomes an SLA workload; defaults written next to them. */
export interface LlmWorkloadOptions {
  readonly seed: number;
  /** Offered load ÷ capacity (1.5 = 50% more work than the servers can do). */
  readonly overload: number;
  readonly servers: number;
  /** Share of requests in each class (drawn per request from the seed). */
  readonly classShares: Readonly<Record<PriorityClass, number>>;
  /** Deadline = arrival + cost × (1 + stretch) + slack of the class; no slack: no deadline. */
  readonly deadlineSlackMs: Readonly<Partial<Record<PriorityClass, number>>>;
  /** Extra time allowed in proportion to the request's own cost (long requests may wait longer). */
  readonly deadlineStretch: number;
  /**
   * Cost model from token counts: prefill per context token, decode per generated token (before scaling to the
   * overload).
   */
  readonly prefillMsPerToken: number;
  readonly decodeMsPerToken: number;
  readonly owners: number;
}

export const LLM_WORKLOAD_DEFAULTS: Omit<LlmWorkloadOptions, 'seed'> = {
  overload: 1.5,
  servers: 8,
  classShares: { high: 0.2, normal: 0.5, low: 0.3 },
  deadlineSlackMs: { high: 30_000, normal: 120_000 },
  deadlineStretch: 1,
  prefillMsPerToken: 0.05,
  decodeMsPerToken: 20,
  owners: 5,
};

/**
 * Requests with costs from their tokens, scaled so the servers face exactly `overload`× their
 * capacity over the trace, and a class, owner and deadline each (seeded).
 */
export function llmWorkload(trace: LlmRequests, options: LlmWorkloadOptions): SlaRequest[] {
  const rng = seededRng(options.seed);
  const count = trace.arrivalsMs.length;
  const rawCost = new Float64Array(count);
  let totalMs = 0;
  for (let i = 0; i < count; i++) {
    rawCost[i] =
      trace.contextTokens[i]! * options.prefillMsPerToken + trace.generatedTokens[i]! * options.decodeMsPerToken;
    totalMs += rawCost[i]!;
  }
  const spanMs = Math.max(1, trace.arrivalsMs[count - 1]! - trace.arrivalsMs[0]!);
  const scale = (options.overload * options.servers * spanMs) / totalMs;
  const requests: SlaRequest[] = [];
  for (let i = 0; i < count; i++) {
    const priorityClass = drawClass(rng.next(), options.classShares);
    const costMs = rawCost[i]! * scale;
    const arrivalMs = trace.arrivalsMs[i]!;
    const slackMs = options.deadlineSlackMs[priorityClass];
    requests.push({
      id: i,
      owner: `owner-${Math.floor(rng.next() * options.owners)}`,
      arrivalMs,
      costMs,
      priorityClass,
      deadlineAtMs: slackMs === undefined ? undefined : arrivalMs + costMs * (1 + options.deadlineStretch) + slackMs,
    });
  }
  return requests;
}

function drawClass(draw: number, shares: Readonly<Record<PriorityClass, number>>): PriorityClass {
  if (draw < shares.high) return 'high';
  if (draw < shares.high + shares.normal) return 'normal';
  return 'low';
}
