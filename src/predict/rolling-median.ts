import { lowerBound, upperBound } from '../core/sorted-search.js';
/**
 * Median and MAD (median absolute deviation) of the last `capacity` values, exact, for robust statistics
 * that run once per completed micro-task.
 *
 * Two typed arrays: a ring in arrival order (to know which value leaves) and the same values kept sorted.
 * A push is two binary searches and at most two `copyWithin` moves (a memmove of ≤ capacity doubles, no
 * allocation); the median is then O(1) and the MAD an O(size / 2) merge walk outward from the median.
 * With a fixed capacity (a few hundred) that is a bounded, allocation-free cost per observation, cheaper
 * in practice than two heaps with deletions and exact, unlike periodic recomputation.
 */
export interface RollingWindow {
  readonly capacity: number;
  /** Values in arrival order; the oldest is at `next` once full. */
  readonly ring: Float64Array;
  /** The same `size` values, ascending, in `sorted[0 .. size)`. */
  readonly sorted: Float64Array;
  next: number;
  size: number;
}

export function initRollingWindow(capacity: number): RollingWindow {
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new RangeError(`window capacity must be an integer ≥ 1, got ${capacity}`);
  return { capacity, ring: new Float64Array(capacity), sorted: new Float64Array(capacity), next: 0, size: 0 };
}

/** Adds `value`, evicting the oldest when full. Allocation-free; refuses NaN/±Infinity (they would break the order). */
export function pushRolling(window: RollingWindow, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`window value must be finite, got ${value}`);
  const { sorted } = window;
  if (window.size === window.capacity) {
    const leaving = window.ring[window.next] ?? 0;
    const at = lowerBound(sorted, window.size, leaving);
    sorted.copyWithin(at, at + 1, window.size);
    window.size -= 1;
  }
  const insertAt = upperBound(sorted, window.size, value);
  sorted.copyWithin(insertAt + 1, insertAt, window.size);
  sorted[insertAt] = value;
  window.size += 1;
  window.ring[window.next] = value;
  window.next = window.next + 1 === window.capacity ? 0 : window.next + 1;
}

export function clearRolling(window: RollingWindow): void {
  window.next = 0;
  window.size = 0;
}

/** Median of the window; NaN when empty (callers check `size` first and report "no data yet"). */
export function rollingMedian(window: RollingWindow): number {
  const n = window.size;
  if (n === 0) return Number.NaN;
  const upper = window.sorted[n >> 1] ?? Number.NaN;
  return n % 2 === 1 ? upper : ((window.sorted[(n >> 1) - 1] ?? Number.NaN) + upper) / 2;
}

/**
 * Median of |x − center| over the window (pass `rollingMedian` for the MAD); NaN when empty.
 * The distances left of `center` grow walking down the sorted array, those right of it walking up:
 * merging the two ascending runs reaches the middle rank in size / 2 + 1 steps.
 */
export function rollingMedianAbsoluteDeviation(window: RollingWindow, center: number): number {
  const n = window.size;
  if (n === 0) return Number.NaN;
  const { sorted } = window;
  const lowRank = (n - 1) >> 1;
  const highRank = n >> 1;
  let left = lowerBound(sorted, n, center) - 1;
  let right = left + 1;
  let lowValue = 0;
  for (let rank = 0; rank <= highRank; rank += 1) {
    const leftDistance = left >= 0 ? center - (sorted[left] ?? 0) : Number.POSITIVE_INFINITY;
    const rightDistance = right < n ? (sorted[right] ?? 0) - center : Number.POSITIVE_INFINITY;
    let distance: number;
    if (leftDistance <= rightDistance) {
      distance = leftDistance;
      left -= 1;
    } else {
      distance = rightDistance;
      right += 1;
    }
    if (rank === lowRank) lowValue = distance;
    if (rank === highRank) return (lowValue + distance) / 2;
  }
  return Number.NaN; // unreachable: highRank < n
}
