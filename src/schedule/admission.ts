/**
 * Admission control by class: may this item enter the SLA queue now? Pure; a decision is a value.
 *
 * Rule, checked in order:
 * 1. Queue full (size ≥ capacity) → every class is refused; retry after the predicted time for
 *    one slot to drain (mean queued cost / workers).
 * 2. Predicted backlog = Σ queued costMs / workers (the wait before newly queued work would
 *    start if served in order). When it exceeds the item's class limit the item is refused with
 *    the class, the backlog and the limit in the reason, and `retryAfterMs` = backlog − limit
 *    (when the queue, draining at full speed, is back under the limit).
 *    Defaults shed low first (10 s), then normal (30 s); high is admitted up to its hard cap
 *    (120 s), past which even high work could not be served usefully.
 * `workers` below 1 counts as 1: a pool still starting will have one, and reading zero as an
 * infinite backlog would refuse everything at startup.
 */
import type { PriorityName } from '../core/limits.js';

export interface AdmissionState {
  size: number;
  capacity: number;
  /** Σ predicted costMs of everything queued (`SlaQueue.stats().backlogCostMs`). */
  backlogCostMs: number;
  /** Workers draining the queue in parallel. */
  workers: number;
}

export interface AdmissionLimits {
  /** Largest predicted backlog (ms) at which an item of each class is still admitted. */
  maxBacklogMs: Record<PriorityName, number>;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  maxBacklogMs: { low: 10_000, normal: 30_000, high: 120_000 },
};

export type AdmissionDecision =
  | { admitted: true; backlogMs: number }
  | {
      admitted: false;
      code: 'queue-full' | 'backlog-over-limit';
      reason: string;
      backlogMs: number;
      retryAfterMs?: number;
    };

export function admit(
  state: AdmissionState,
  item: { priorityClass: PriorityName; costMs: number },
  limits: AdmissionLimits = DEFAULT_ADMISSION_LIMITS,
): AdmissionDecision {
  const workers = Math.max(1, state.workers);
  const backlogMs = state.backlogCostMs / workers;
  const itemClass = item.priorityClass;
  if (state.size >= state.capacity) {
    const slotMs = state.size === 0 ? 0 : Math.ceil(state.backlogCostMs / state.size / workers);
    return {
      admitted: false,
      code: 'queue-full',
      reason: `${itemClass}: queue full (${state.size}/${state.capacity} items)`,
      backlogMs,
      retryAfterMs: slotMs,
    };
  }
  const limitMs = limits.maxBacklogMs[itemClass];
  if (backlogMs > limitMs) {
    return {
      admitted: false,
      code: 'backlog-over-limit',
      reason: `${itemClass}: predicted backlog ${formatMs(backlogMs)} > ${itemClass} limit ${formatMs(limitMs)} (${formatMs(state.backlogCostMs)} of queued work on ${workers} worker(s))`,
      backlogMs,
      retryAfterMs: Math.ceil(backlogMs - limitMs),
    };
  }
  return { admitted: true, backlogMs };
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(3))} s` : `${Math.round(ms)} ms`;
}
