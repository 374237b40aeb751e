import { baselineScheduler, WORKFLOW_BASELINES } from './baselines.js';
import { checkReplay } from './check.js';
import { lowerBoundMs, workflowBounds } from './bounds.js';
import type { Workflow } from './load.js';
import { Replay, type ReplayScheduler } from './replay.js';
import { byWorkSplit, staticScheduler } from './static-schedulers.js';

/**
 * Replays workflows under every baseline at several slot counts and sums the results up per family
 * and slot count: makespan ÷ the lower bound, makespan and swarmlet time held ÷ `list`'s, as
 * median (worst). `static-by-work/rank` is `static-by-work` serving each type's queue by upward
 * rank instead of first come, first served: it shows how much of static's gap is queue order.
 */
export interface ReportScheduler {
  readonly name: string;
  make(workflow: Workflow, slots: number): ReplayScheduler;
}

export const REPORT_SCHEDULERS: readonly ReportScheduler[] = [
  ...WORKFLOW_BASELINES.map((name) => ({ name, make: (w: Workflow, s: number) => baselineScheduler(name, w, s) })),
  {
    name: 'static-by-work/rank',
    make: (w: Workflow, s: number) => staticScheduler(w, 'static-by-work/rank', byWorkSplit(w, s), 'rank'),
  },
];

export interface BaselineRow {
  readonly workflow: string;
  readonly family: string;
  readonly slots: number;
  readonly scheduler: string;
  readonly makespanMs: number;
  readonly lowerBoundMs: number;
  readonly heldMs: number;
  readonly coldStarts: number;
  /** What `checkReplay` found wrong (empty when all invariants hold). */
  readonly violations: readonly string[];
}

export interface ReplayBaselinesOptions {
  readonly slots: readonly number[];
  readonly coldStartMs: number;
  readonly schedulers?: readonly ReportScheduler[];
}

export function replayBaselines(workflows: readonly Workflow[], options: ReplayBaselinesOptions): BaselineRow[] {
  const rows: BaselineRow[] = [];
  for (const workflow of workflows) {
    const bounds = workflowBounds(workflow);
    for (const slots of options.slots) {
      for (const scheduler of options.schedulers ?? REPORT_SCHEDULERS) {
        const replay = new Replay(workflow, { slots, coldStartMs: options.coldStartMs });
        const result = replay.run(scheduler.make(workflow, slots));
        rows.push({
          workflow: workflow.name,
          family: workflow.family,
          slots,
          scheduler: scheduler.name,
          makespanMs: result.makespanMs,
          lowerBoundMs: lowerBoundMs(bounds, slots),
          heldMs: result.heldMs,
          coldStarts: result.coldStarts,
          violations: checkReplay(workflow, result),
        });
      }
    }
  }
  return rows;
}

export interface RatioSummary {
  readonly median: number;
  readonly worst: number;
  readonly instances: number;
}

/**
 * `numerator`'s makespan (or held time) ÷ `denominator`'s, per workflow, summed up over the rows
 * picked by `where`; `denominator` 'lower-bound' divides the makespan by the lower bound.
 */
export function ratioSummary(
  rows: readonly BaselineRow[],
  numerator: string,
  denominator: string,
  where: (row: BaselineRow) => boolean,
  metric: 'makespan' | 'held' = 'makespan',
): RatioSummary {
  const value = (row: BaselineRow) => (metric === 'makespan' ? row.makespanMs : row.heldMs);
  const below = new Map<string, BaselineRow>();
  for (const row of rows)
    if (row.scheduler === denominator && where(row)) below.set(`${row.workflow}@${row.slots}`, row);
  const ratios: number[] = [];
  for (const row of rows) {
    if (row.scheduler !== numerator || !where(row)) continue;
    if (denominator === 'lower-bound') ratios.push(row.makespanMs / row.lowerBoundMs);
    else {
      const other = below.get(`${row.workflow}@${row.slots}`);
      if (other) ratios.push(value(row) / value(other));
    }
  }
  return {
    median: median(ratios),
    worst: ratios.length === 0 ? Number.NaN : Math.max(...ratios),
    instances: ratios.length,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const MAKESPAN_COLUMNS: readonly (readonly [string, string, string])[] = [
  ['list÷LB', 'list', 'lower-bound'],
  ['by-work÷list', 'static-by-work', 'list'],
  ['by-work/rank÷list', 'static-by-work/rank', 'list'],
  ['equal÷list', 'static-equal', 'list'],
  ['hpa÷list', 'hpa', 'list'],
  ['ray÷list', 'ray', 'list'],
];
const HELD_COLUMNS = MAKESPAN_COLUMNS.slice(1);

/** Two text tables (makespan ratios; swarmlet time held ÷ list's), per family and slot count, then all families. */
export function formatBaselineReport(rows: readonly BaselineRow[]): string {
  const families = [...new Set(rows.map((row) => row.family))].sort();
  const slotCounts = [...new Set(rows.map((row) => row.slots))].sort((a, b) => a - b);
  const groups: [string, number][] = [];
  for (const family of [...families, 'all']) for (const slots of slotCounts) groups.push([family, slots]);
  const table = (title: string, columns: typeof MAKESPAN_COLUMNS, metric: 'makespan' | 'held') => {
    const header = ['family', 'slots', 'n', ...columns.map(([label]) => label)];
    const lines = groups.map(([family, slots]) => {
      const where = (row: BaselineRow) => row.slots === slots && (family === 'all' || row.family === family);
      const cells = columns.map(([, top, bottom]) => ratioSummary(rows, top, bottom, where, metric));
      return [family, String(slots), String(cells[0]!.instances), ...cells.map(cell)];
    });
    return [title, ...align([header, ...lines])].join('\n');
  };
  return [
    table('makespan ratios, median (worst)', MAKESPAN_COLUMNS, 'makespan'),
    '',
    table("swarmlet time held ÷ list's, median (worst)", HELD_COLUMNS, 'held'),
  ].join('\n');
}

function cell(summary: RatioSummary): string {
  return summary.instances === 0 ? '-' : `${summary.median.toFixed(2)} (${summary.worst.toFixed(2)})`;
}

function align(lines: readonly (readonly string[])[]): string[] {
  const widths = lines[0]!.map((_, k) => Math.max(...lines.map((line) => line[k]!.length)));
  return lines.map((line) =>
    line.map((text, k) => (k < 3 ? text.padEnd(widths[k]!) : text.padStart(widths[k]!))).join('  '),
  );
}
