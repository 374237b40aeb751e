/** Number formatting for decision reasons: short, stable, units written by the caller. */

/**
 * Whole numbers as they are ("1024"), large ones to one decimal, small ones to three significant digits ("0.031",
 * "1.5").
 */
export function formatAmount(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '∞' : value < 0 ? '-∞' : 'NaN';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return String(Math.round(value * 10) / 10);
  return String(Number(value.toPrecision(3)));
}

/** "250 ms", "9.1 s", "30 min", "8 h": the unit a reader would pick. */
export function formatSeconds(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Number((ms / 1_000).toFixed(1))} s`;
  if (ms < 2 * 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}
