import type { Rng } from '../../core/clock.js';
import type { ArrivalPattern } from '../trace.js';

export const MINUTE_MS = 60_000;

/**
 * Turns per-minute invocation counts into arrival times (ms from the start of `counts[0]`'s
 * minute), ascending. `scratch` is a reusable buffer (it grows by doubling), so a whole trace
 * allocates one array per app and no per-invocation objects.
 *
 * - `even`: the n calls of minute k are at k·60000 + (i + 0.5)·60000 / n, i = 0..n-1 (exact, no randomness).
 * - `uniform`: n independent uniform times inside the minute, sorted (the count is kept exactly).
 * - `poisson`: a Poisson process whose rate is piecewise constant, λ = n per minute during minute
 *   k: exponential inter-arrival times with mean 60000 / n ms, restarted at each minute boundary
 *   (exact for a memoryless process) and cut at the minute's end. The number of calls in a minute
 *   is therefore Poisson(n): the total matches the CSV only on average, and minutes with n = 0
 *   stay empty.
 */
export function placeArrivals(counts: Uint32Array, pattern: ArrivalPattern, rng: Rng, scratch: Scratch): Float64Array {
  if (pattern === 'poisson') return poissonArrivals(counts, rng, scratch);
  let total = 0;
  for (const n of counts) total += n;
  const arrivalsMs = new Float64Array(total);
  let at = 0;
  for (let minute = 0; minute < counts.length; minute++) {
    const n = counts[minute] as number;
    const startMs = minute * MINUTE_MS;
    if (pattern === 'even') {
      for (let i = 0; i < n; i++) arrivalsMs[at + i] = startMs + ((i + 0.5) * MINUTE_MS) / n;
    } else {
      for (let i = 0; i < n; i++) arrivalsMs[at + i] = startMs + rng.next() * MINUTE_MS;
      if (n > 1) arrivalsMs.subarray(at, at + n).sort();
    }
    at += n;
  }
  return arrivalsMs;
}

/** A growable Float64Array shared across apps while a trace loads. */
export class Scratch {
  buffer = new Float64Array(1024);
  push(length: number, value: number): void {
    if (length === this.buffer.length) {
      const bigger = new Float64Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[length] = value;
  }
}

function poissonArrivals(counts: Uint32Array, rng: Rng, scratch: Scratch): Float64Array {
  let length = 0;
  for (let minute = 0; minute < counts.length; minute++) {
    const n = counts[minute] as number;
    if (n === 0) continue;
    const startMs = minute * MINUTE_MS;
    const endMs = startMs + MINUTE_MS;
    const meanGapMs = MINUTE_MS / n;
    // 1 - u is in (0, 1], so the log is finite.
    for (let t = startMs - Math.log(1 - rng.next()) * meanGapMs; t < endMs; t -= Math.log(1 - rng.next()) * meanGapMs) {
      scratch.push(length++, t);
    }
  }
  return scratch.buffer.slice(0, length);
}

/** Percentile ranks (in %) of the duration points `percentile_Average_{0,1,25,50,75,99,100}`. */
export const DURATION_PERCENTILES = [0, 1, 25, 50, 75, 99, 100] as const;

/**
 * Draws `n` durations by inverse-CDF sampling: u ~ U[0,1) is mapped to the percentile rank
 * 100·u and linearly interpolated between the two surrounding percentile points, so 1% of the
 * draws fall in [p0, p1], 24% in [p1, p25], and so on. `points` must be non-decreasing.
 */
export function sampleDurations(points: Float64Array, n: number, rng: Rng): Float64Array {
  const durationsMs = new Float64Array(n);
  const last = RANKS.length - 2;
  for (let i = 0; i < n; i++) {
    const rank = rng.next() * 100;
    let segment = 0;
    while (segment < last && rank >= (RANKS[segment + 1] as number)) segment++;
    const lowRank = RANKS[segment] as number;
    const low = points[segment] as number;
    const high = points[segment + 1] as number;
    durationsMs[i] = low + ((high - low) * (rank - lowRank)) / ((RANKS[segment + 1] as number) - lowRank);
  }
  return durationsMs;
}

const RANKS = Float64Array.from(DURATION_PERCENTILES);
