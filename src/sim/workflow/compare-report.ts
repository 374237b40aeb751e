import { median } from './report-baselines.js';
import { ACTION_KINDS, type ComparisonRow, type WorkflowPolicy } from './compare.js';

/**
 * What `swarmlet sim --workflow` prints and writes: a table per instance and slot count (the median over seeds of
 * each figure), a summary per family and slot count of adaptive against `list` and `static-by-work`, and the rows as
 * CSV (one per instance × slots × seed × policy).
 */
export interface SummaryRow {
  readonly family: string;
  readonly slots: number;
  /** Instance × seed pairs summed up. */
  readonly runs: number;
  readonly adaptiveOverList: Spread;
  readonly adaptiveOverByWork: Spread;
  readonly adaptiveHeldOverListHeld: Spread;
}

/** Median and worst (largest) of a ratio; NaN when there was nothing to divide. */
export interface Spread {
  readonly median: number;
  readonly worst: number;
}

/** The issue's targets, printed under the summary so a reader sees how far each figure is. */
export const WORKFLOW_TARGETS =
  'targets: adaptive ÷ list ≤ 1.15 at the median and ≤ 1.5 at the worst; ÷ static-by-work ≤ 1.05 on every instance; held ÷ list held ≤ 1.1';

export function instanceTables(rows: readonly ComparisonRow[], policies: readonly WorkflowPolicy[]): string {
  const seeds = [...new Set(rows.map((row) => row.seed))];
  const seedNote = seeds.length === 1 ? `seed ${seeds[0]}` : `median over seeds ${seeds.join(', ')}`;
  const groups = new Map<string, ComparisonRow[]>();
  for (const row of rows) {
    const key = `${row.instance}\u0000${row.slots}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const tables: string[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const bound = median(group.filter((row) => row.policy === 'list').map((row) => row.lowerBoundMs));
    const title = `${first.instance} (${first.family}, ${first.tasks} tasks) at ${first.slots} slots · lower bound ${seconds(bound)} s · ${seedNote}`;
    const body = policies.map((policy) => policyCells(group.filter((row) => row.policy === policy)));
    tables.push(`${title}\n${pipeTable(INSTANCE_HEADER, body, [0, INSTANCE_HEADER.length - 1])}`);
  }
  return tables.join('\n\n');
}

const INSTANCE_HEADER = [
  'policy',
  'makespan s',
  '÷ bound',
  '÷ list',
  'held swarmlet-s',
  'held ÷ list',
  'cold starts',
  'morphing actions',
];

function policyCells(runs: readonly ComparisonRow[]): string[] {
  const of = (pick: (row: ComparisonRow) => number) => median(runs.map(pick));
  const kinds = [...new Set(runs.flatMap((row) => Object.keys(row.actions)))];
  const actions = kinds.map((kind) => `${kind} ${count(of((row) => row.actions[kind] ?? 0))}`).join(', ');
  const violations = runs.reduce((sum, row) => sum + row.violations.length, 0);
  return [
    runs[0]!.policy + (violations > 0 ? ` (${violations} invariant violations)` : ''),
    seconds(of((row) => row.makespanMs)),
    of((row) => row.makespanOverLowerBound).toFixed(2),
    of((row) => row.makespanOverList).toFixed(2),
    of((row) => row.heldMs / 1000).toFixed(0),
    of((row) => row.heldOverList).toFixed(2),
    count(of((row) => row.coldStarts)),
    runs[0]!.policy === 'adaptive' ? actions || 'none' : '-',
  ];
}

/** Adaptive against list and static-by-work per family and slot count, then over every family ('all', when several). */
export function summarize(rows: readonly ComparisonRow[]): SummaryRow[] {
  const families = [...new Set(rows.map((row) => row.family))].sort();
  const slotCounts = [...new Set(rows.map((row) => row.slots))].sort((a, b) => a - b);
  const byRun = new Map<string, ComparisonRow>();
  const key = (row: ComparisonRow, policy: string) =>
    `${row.instance}\u0000${row.slots}\u0000${row.seed}\u0000${policy}`;
  for (const row of rows) byRun.set(key(row, row.policy), row);
  const summary: SummaryRow[] = [];
  for (const family of families.length > 1 ? [...families, 'all'] : families) {
    for (const slots of slotCounts) {
      const adaptive = rows.filter(
        (row) => row.policy === 'adaptive' && row.slots === slots && (family === 'all' || row.family === family),
      );
      const over = (policy: string, pick: (row: ComparisonRow) => number) =>
        spread(
          adaptive.flatMap((row) => {
            const other = byRun.get(key(row, policy));
            return other ? [pick(row) / pick(other)] : [];
          }),
        );
      summary.push({
        family,
        slots,
        runs: adaptive.length,
        adaptiveOverList: spread(adaptive.map((row) => row.makespanOverList)),
        adaptiveOverByWork: over('static-by-work', (row) => row.makespanMs),
        adaptiveHeldOverListHeld: spread(adaptive.map((row) => row.heldOverList)),
      });
    }
  }
  return summary;
}

export function summaryTable(summary: readonly SummaryRow[]): string {
  const header = ['family', 'slots', 'runs', 'adaptive ÷ list', 'adaptive ÷ static-by-work', 'held ÷ list held'];
  const body = summary.map((row) => [
    row.family,
    String(row.slots),
    String(row.runs),
    cell(row.adaptiveOverList),
    cell(row.adaptiveOverByWork),
    cell(row.adaptiveHeldOverListHeld),
  ]);
  return `adaptive's makespan and swarmlet time held against list and static-by-work, median (worst)\n${pipeTable(header, body, [0])}\n${WORKFLOW_TARGETS}`;
}

/** One line per instance × slots × seed × policy; every action kind seen gets its own column. */
export function comparisonCsv(rows: readonly ComparisonRow[]): string {
  const seen = new Set(rows.flatMap((row) => Object.keys(row.actions)));
  const kinds = [...ACTION_KINDS.filter((kind) => seen.has(kind)), ...[...seen].filter((k) => !isKnown(k)).sort()];
  const header = [
    'instance',
    'family',
    'tasks',
    'slots',
    'seed',
    'policy',
    'makespan_ms',
    'lower_bound_ms',
    'makespan_over_lower_bound',
    'makespan_over_list',
    'held_ms',
    'held_over_list',
    'cold_starts',
    ...kinds.map((kind) => `actions_${kind}`),
    'violations',
  ];
  const lines = rows.map((row) =>
    [
      row.instance,
      row.family,
      row.tasks,
      row.slots,
      row.seed,
      row.policy,
      row.makespanMs,
      row.lowerBoundMs,
      row.makespanOverLowerBound,
      row.makespanOverList,
      row.heldMs,
      row.heldOverList,
      row.coldStarts,
      ...kinds.map((kind) => row.actions[kind] ?? 0),
      row.violations.join('; '),
    ]
      .map(csvField)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

function isKnown(kind: string): boolean {
  return (ACTION_KINDS as readonly string[]).includes(kind);
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function spread(values: readonly number[]): Spread {
  return { median: median(values), worst: values.length === 0 ? Number.NaN : Math.max(...values) };
}

function cell(value: Spread): string {
  return Number.isNaN(value.median) ? '-' : `${value.median.toFixed(2)} (${value.worst.toFixed(2)})`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** A count, or a median of counts over an even number of seeds (x.5). */
function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A Markdown table (pastes into the README as is): `left` columns (text) left-aligned, the others (numbers) right. */
function pipeTable(header: readonly string[], body: readonly (readonly string[])[], left: readonly number[]): string {
  const all = [header, ...body];
  const widths = header.map((_, k) => Math.max(...all.map((line) => line[k]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((text, k) => (left.includes(k) ? text.padEnd(widths[k]!) : text.padStart(widths[k]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, k) => (left.includes(k) ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}
