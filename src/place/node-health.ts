import { EMPTY_EWMA, updateEwma, type Ewma } from '../predict/ewma.js';
import { formatAmount, formatSeconds } from './format.js';

/**
 * What the director measures about a node, never what the node says about itself: heartbeat
 * liveness, reliability from task outcomes and round-trip latency. All values are immutable;
 * every update returns a new record, and time comes in as `nowMs` (DESIGN.md: pure folders).
 *
 * Heartbeat times are the director's receive times, so a node's clock skew cannot keep it alive.
 */

export type Liveness = 'alive' | 'suspect' | 'dead';

export interface HealthOptions {
  /** No heartbeat for longer than this: the node is dead and its work moves (the bounded failover time). */
  readonly ttlMs: number;
  /** No heartbeat for longer than this (< ttlMs): suspect; no new work goes there. */
  readonly suspectAfterMs: number;
  /** An outcome counts half as much after this long: old failures are forgiven, old successes fade. */
  readonly reliabilityHalfLifeMs: number;
  /**
   * Beta prior: a new node starts as if it had this many successes and failures (9 and 1: 90 % reliable,
   * worth 10 outcomes). Strong enough that one early failure does not sink a node, weak enough that
   * a node that keeps failing loses its place within a few dozen outcomes.
   */
  readonly priorSuccesses: number;
  readonly priorFailures: number;
  /** Reliability never goes below this (the auction divides by it). */
  readonly minReliability: number;
  /** Weight of a new round trip in the latency EWMA, 0 < alpha ≤ 1. */
  readonly latencyAlpha: number;
  /**
   * Latency assumed for a node never measured: pessimistic, so an unmeasured node does not look faster than a measured
   * one.
   */
  readonly unmeasuredLatencyMs: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  ttlMs: 5_000,
  suspectAfterMs: 2_500,
  reliabilityHalfLifeMs: 6 * 3_600_000,
  priorSuccesses: 9,
  priorFailures: 1,
  minReliability: 0.05,
  latencyAlpha: 0.2,
  unmeasuredLatencyMs: 200,
};

/** Decayed outcome counts as of `atMs` (undefined: no outcome yet). O(1) memory however long the history. */
export interface ReliabilityRecord {
  readonly successes: number;
  readonly failures: number;
  readonly atMs: number | undefined;
}

export interface NodeHealth {
  readonly lastHeartbeatMs: number | undefined;
  readonly reliability: ReliabilityRecord;
  /** Round trips director → agent → director, ms. */
  readonly latency: Ewma;
}

export const NEW_NODE_HEALTH: NodeHealth = {
  lastHeartbeatMs: undefined,
  reliability: { successes: 0, failures: 0, atMs: undefined },
  latency: EMPTY_EWMA,
};

export interface LivenessView {
  readonly state: Liveness;
  /** Time since the last heartbeat; undefined when none ever came. */
  readonly silentMs: number | undefined;
  readonly reason: string;
}

export function liveness(
  lastHeartbeatMs: number | undefined,
  nowMs: number,
  options: Pick<HealthOptions, 'ttlMs' | 'suspectAfterMs'>,
): LivenessView {
  if (lastHeartbeatMs === undefined) return { state: 'dead', silentMs: undefined, reason: 'dead, no heartbeat yet' };
  const silentMs = Math.max(0, nowMs - lastHeartbeatMs);
  const ttl = formatSeconds(options.ttlMs);
  if (silentMs > options.ttlMs)
    return { state: 'dead', silentMs, reason: `dead, no heartbeat for ${formatSeconds(silentMs)} > ttl ${ttl}` };
  if (silentMs > options.suspectAfterMs)
    return {
      state: 'suspect',
      silentMs,
      reason: `suspect, no heartbeat for ${formatSeconds(silentMs)} (dead after ttl ${ttl})`,
    };
  return { state: 'alive', silentMs, reason: `alive, heartbeat ${formatSeconds(silentMs)} ago` };
}

/** Heartbeats may arrive out of order; the newest one wins. */
export function recordHeartbeat(health: NodeHealth, nowMs: number): NodeHealth {
  const lastHeartbeatMs = health.lastHeartbeatMs === undefined ? nowMs : Math.max(health.lastHeartbeatMs, nowMs);
  return { ...health, lastHeartbeatMs };
}

/**
 * One micro-task or swarmlet outcome on this node (a crash, a lost heartbeat, a false warm claim count as failures).
 */
export function recordOutcome(
  health: NodeHealth,
  ok: boolean,
  nowMs: number,
  options: Pick<HealthOptions, 'reliabilityHalfLifeMs'> = DEFAULT_HEALTH_OPTIONS,
): NodeHealth {
  const decayed = decay(health.reliability, nowMs, options.reliabilityHalfLifeMs);
  const reliability = ok
    ? { ...decayed, successes: decayed.successes + 1 }
    : { ...decayed, failures: decayed.failures + 1 };
  return { ...health, reliability };
}

/** A probe round trip; non-finite values are dropped (wire data), negative ones read as 0. */
export function recordRoundTrip(
  health: NodeHealth,
  roundTripMs: number,
  options: Pick<HealthOptions, 'latencyAlpha'> = DEFAULT_HEALTH_OPTIONS,
): NodeHealth {
  if (!Number.isFinite(roundTripMs)) return health;
  return { ...health, latency: updateEwma(health.latency, Math.max(0, roundTripMs), options.latencyAlpha) };
}

export interface ReliabilityEstimate {
  /** Posterior mean success probability, in [minReliability, 1]. */
  readonly value: number;
  /** Decayed outcomes behind it (0: the prior alone). */
  readonly evidence: number;
  readonly reason: string;
}

export function estimateReliability(
  record: ReliabilityRecord,
  nowMs: number,
  options: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): ReliabilityEstimate {
  const { successes, failures } = decay(record, nowMs, options.reliabilityHalfLifeMs);
  const evidence = successes + failures;
  const mean = (options.priorSuccesses + successes) / (options.priorSuccesses + options.priorFailures + evidence);
  const value = Math.min(1, Math.max(options.minReliability, mean));
  const reason =
    evidence === 0
      ? `reliability ${formatAmount(value)} (prior, no outcomes yet)`
      : `reliability ${formatAmount(value)} (${formatAmount(failures)} failures in ${formatAmount(evidence)} recent outcomes)`;
  return { value, evidence, reason };
}

export interface LatencyEstimate {
  readonly valueMs: number;
  readonly measured: boolean;
  readonly reason: string;
}

export function estimateLatency(
  latency: Ewma,
  options: Pick<HealthOptions, 'unmeasuredLatencyMs'> = DEFAULT_HEALTH_OPTIONS,
): LatencyEstimate {
  if (latency.value === undefined) {
    return {
      valueMs: options.unmeasuredLatencyMs,
      measured: false,
      reason: `latency not measured yet, assumed ${formatSeconds(options.unmeasuredLatencyMs)}`,
    };
  }
  return {
    valueMs: latency.value,
    measured: true,
    reason: `latency ${formatSeconds(latency.value)} (EWMA of ${latency.samples} round trips)`,
  };
}

/** Everything the auction needs to know about a node's measured state at `nowMs`. */
export interface HealthView {
  readonly liveness: LivenessView;
  readonly reliability: ReliabilityEstimate;
  readonly latency: LatencyEstimate;
}

export function healthView(
  health: NodeHealth,
  nowMs: number,
  options: HealthOptions = DEFAULT_HEALTH_OPTIONS,
): HealthView {
  return {
    liveness: liveness(health.lastHeartbeatMs, nowMs, options),
    reliability: estimateReliability(health.reliability, nowMs, options),
    latency: estimateLatency(health.latency, options),
  };
}

function decay(record: ReliabilityRecord, nowMs: number, halfLifeMs: number): ReliabilityRecord {
  if (record.atMs === undefined) return { successes: record.successes, failures: record.failures, atMs: nowMs };
  const elapsedMs = Math.max(0, nowMs - record.atMs);
  const factor = halfLifeMs > 0 ? 0.5 ** (elapsedMs / halfLifeMs) : 1;
  return {
    successes: record.successes * factor,
    failures: record.failures * factor,
    atMs: Math.max(record.atMs, nowMs),
  };
}
