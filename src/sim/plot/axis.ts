/**
 * Plot axes: a value range, the ticks worth a grid line, and the mapping from a value to pixels. Linear axes start at
 * zero and end on a nice tick (1, 2, 2.5 or 5 × 10^k steps); log axes suit ratios, with 1 always marked.
 */
export interface Axis {
  readonly scale: 'linear' | 'log';
  readonly low: number;
  readonly high: number;
  readonly ticks: readonly number[];
}

export interface LinearAxisOptions {
  /** Values the axis must show besides the data (e.g. the baseline's 100 %). */
  readonly include?: readonly number[];
  /** A natural ceiling (100 for a percentage): the axis stops there unless the data goes beyond it. */
  readonly limit?: number;
}

const TARGET_TICKS = 5;

export function linearAxis(values: readonly number[], options: LinearAxisOptions = {}): Axis {
  const finite = [...values, ...(options.include ?? [])].filter(Number.isFinite);
  const low = Math.min(0, ...finite);
  const dataHigh = Math.max(...finite, low + 1);
  const step = niceStep((dataHigh - low) / TARGET_TICKS);
  let high = Math.ceil(dataHigh / step - 1e-9) * step;
  const { limit } = options;
  if (limit !== undefined && dataHigh <= limit && high > limit) high = limit;
  const ticks: number[] = [];
  for (let k = Math.ceil(low / step - 1e-9); k * step <= high + 1e-9; k++) ticks.push(clean(k * step));
  if (ticks.at(-1)! < high) ticks.push(clean(high));
  return { scale: 'linear', low, high: clean(high), ticks };
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at least `raw`. */
export function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw * (1 - 1e-9))!;
  return mantissa * power;
}

/** Ratios worth a grid line on a log axis; those closer than `MIN_TICK_GAP_PX` to a kept one are dropped. */
const LOG_TICK_CANDIDATES = [
  0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000,
  5000, 10_000,
];
const MIN_TICK_GAP_PX = 26;

/** A log axis round every positive value and 1 (the yardstick), padded by 5 % of a decade each side. */
export function logAxis(values: readonly number[], lengthPx: number): Axis {
  const positive = values.filter((value) => value > 0 && Number.isFinite(value));
  const low = Math.min(1, ...positive) / 10 ** 0.05;
  const high = Math.max(1.2, ...positive) * 10 ** 0.05;
  const axis: Axis = { scale: 'log', low, high, ticks: [] };
  const px = (value: number) => fraction(axis, value) * lengthPx;
  const kept = [1];
  const inRange = LOG_TICK_CANDIDATES.filter((tick) => tick >= low && tick <= high);
  // Nearest to 1 first, so the ticks that survive crowding are the ones a reader compares against.
  for (const tick of inRange.sort((a, b) => Math.abs(Math.log(a)) - Math.abs(Math.log(b))))
    if (kept.every((other) => Math.abs(px(tick) - px(other)) >= MIN_TICK_GAP_PX)) kept.push(tick);
  return { ...axis, ticks: kept.sort((a, b) => a - b) };
}

/** Where `value` falls along the axis, 0 at `low` and 1 at `high` (clamped). */
export function fraction(axis: Axis, value: number): number {
  const clamped = Math.min(Math.max(value, axis.low), axis.high);
  if (axis.scale === 'linear') return (clamped - axis.low) / (axis.high - axis.low);
  return (Math.log(clamped) - Math.log(axis.low)) / (Math.log(axis.high) - Math.log(axis.low));
}

/** A pixel mapper from `start` (the axis's low end) to `end`. */
export const project =
  (axis: Axis, start: number, end: number) =>
  (value: number): number =>
    start + fraction(axis, value) * (end - start);

export function tickText(value: number): string {
  return String(Number(value.toPrecision(4)));
}

const clean = (value: number) => Number(value.toPrecision(12));
