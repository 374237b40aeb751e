import type { PolicyResult } from './metrics.js';

/** One policy across seeds: mean and spread of each measure, waste normalised to the baseline. */
export interface PolicyRow {
  readonly policy: string;
  readonly family: string | undefined;
  readonly seeds: number;
  readonly p75AppColdPercent: Spread;
  readonly p75AppColdPercentWithFirst: Spread;
  readonly coldPercentOverall: Spread;
  /** Wasted memory-time as % of the baseline policy's in the same seed (baseline = 100). */
  readonly wastedPercentOfBaseline: Spread;
  readonly wastedGbHours: Spread;
  /** Simulated invocations per second of replay (not part of the deterministic report). */
  readonly invocationsPerSecond: number;
}

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: readonly number[]): Spread {
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** Groups per-seed results into rows; `baseline` (keepalive-10m) must be among the results. */
export function buildRows(
  results: readonly PolicyResult[],
  baseline: string,
  families: ReadonlyMap<string, string>,
): PolicyRow[] {
  const baseBySeed = new Map(results.filter((r) => r.policy === baseline).map((r) => [r.seed, r.wastedGbSeconds]));
  const order = [...new Set(results.map((r) => r.policy))];
  return order.map((policy) => {
    const runs = results.filter((r) => r.policy === policy);
    return {
      policy,
      family: families.get(policy),
      seeds: runs.length,
      p75AppColdPercent: spread(runs.map((r) => r.p75AppColdPercent)),
      p75AppColdPercentWithFirst: spread(runs.map((r) => r.p75AppColdPercentWithFirst)),
      coldPercentOverall: spread(runs.map((r) => r.coldPercentOverall)),
      wastedPercentOfBaseline: spread(runs.map((r) => (100 * r.wastedGbSeconds) / baseBySeed.get(r.seed)!)),
      wastedGbHours: spread(runs.map((r) => r.wastedGbSeconds / 3600)),
      invocationsPerSecond:
        runs.reduce((sum, r) => sum + r.calls, 0) / (runs.reduce((sum, r) => sum + r.replayMs, 0) / 1000),
    };
  });
}

const fmt = (s: Spread, digits: number) =>
  s.min === s.max
    ? s.mean.toFixed(digits)
    : `${s.mean.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** The comparison table `swarmlet sim` prints (mean over seeds, min–max in brackets). */
export function renderTable(rows: readonly PolicyRow[], withSpeed: boolean): string {
  const header = [
    'policy',
    'p75 app cold % (first calls excl.)',
    'p75 app cold % (incl. first)',
    'cold % overall',
    'wasted mem-time % of keepalive-10m',
    'wasted GB·h',
  ];
  if (withSpeed) header.push('invocations/s');
  const cells = rows.map((row) => {
    const line = [
      row.policy,
      fmt(row.p75AppColdPercent, 2),
      fmt(row.p75AppColdPercentWithFirst, 1),
      fmt(row.coldPercentOverall, 2),
      fmt(row.wastedPercentOfBaseline, 1),
      fmt(row.wastedGbHours, 1),
    ];
    if (withSpeed) line.push(speed(row.invocationsPerSecond));
    return line;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) =>
    `| ${values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** Invocations per second of replay: millions for the per-app replays, thousands for the orchestrator's. */
function speed(perSecond: number): string {
  return perSecond >= 1e5 ? `${(perSecond / 1e6).toFixed(2)}M` : `${(perSecond / 1e3).toFixed(1)}k`;
}

export function toCsv(results: readonly PolicyResult[]): string {
  const columns = [
    'policy',
    'seed',
    'apps',
    'appsWithTwoCalls',
    'calls',
    'coldStarts',
    'coldPercentOverall',
    'p75AppColdPercent',
    'p75AppColdPercentWithFirst',
    'wastedGbSeconds',
  ] as const;
  const rows = results.map((r) =>
    columns.map((c) => (typeof r[c] === 'number' ? String(r[c]) : `"${String(r[c]).replace(/"/g, '""')}"`)).join(','),
  );
  return `${columns.join(',')}\n${rows.join('\n')}\n`;
}
