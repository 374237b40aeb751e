/** Binary searches over the first `count` values of an ascending array. */

/** First index whose value is ≥ x (count when none). */
export function lowerBound(sorted: ArrayLike<number>, count: number, x: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < x) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** First index whose value is > x (count when none). */
export function upperBound(sorted: ArrayLike<number>, count: number, x: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! <= x) low = middle + 1;
    else high = middle;
  }
  return low;
}
