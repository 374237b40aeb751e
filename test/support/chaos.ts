/**
 * The chaos suite's size. `npm test` runs each chaos scenario in its short form (CI budget: under
 * 3 minutes for all of them); `npm run chaos` sets SWARMLET_CHAOS=full and runs the full
 * sizes (3 runs each). Every scenario prints its figures with `report`.
 */
export const CHAOS_FULL = process.env.SWARMLET_CHAOS === 'full';

/** `short` in `npm test`, `full` under `npm run chaos`. */
export function chaosSize<T>(short: T, full: T): T {
  return CHAOS_FULL ? full : short;
}

/** Runs per scenario: 1 in `npm test`, 3 under `npm run chaos`. */
export const CHAOS_RUNS = CHAOS_FULL ? 3 : 1;

/** One line of figures for the closing note: `chaos <scenario>: key=value …`. */
export function report(scenario: string, figures: Record<string, string | number | boolean>): void {
  const parts = Object.entries(figures).map(([key, value]) => `${key}=${value}`);
  console.log(`chaos ${scenario}: ${parts.join(' ')}`);
}
