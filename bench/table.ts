import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fmt } from './util.js';

/** How a row's ratio is read against its target. */
export type Goal = 'higher' | 'lower' | 'info';

export interface Row {
  readonly section: string;
  readonly metric: string;
  readonly unit: string;
  readonly swarmlet: number;
  readonly baseline: number;
  readonly baselineName: string;
  /** As printed: swarmlet/baseline unless `ratioNote` says otherwise. */
  readonly ratio: number;
  readonly ratioNote?: string;
  readonly goal: Goal;
  /** The ratio must be ≥ target (goal 'higher') or ≤ target (goal 'lower'). */
  readonly target?: number;
}

export interface Detail {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly note?: string;
}

export interface SectionResult {
  readonly rows: Row[];
  readonly details: Detail[];
  readonly extra?: Record<string, unknown>;
}

export function passOf(row: Row): boolean | undefined {
  if (row.goal === 'info' || row.target === undefined || !Number.isFinite(row.ratio)) return undefined;
  return row.goal === 'higher' ? row.ratio >= row.target : row.ratio <= row.target;
}

function targetText(row: Row): string {
  if (row.goal === 'info' || row.target === undefined) return '(info)';
  return `${row.goal === 'higher' ? '≥' : '≤'} ${row.target}×`;
}

function verdict(row: Row): string {
  const pass = passOf(row);
  return pass === undefined ? '' : pass ? 'PASS' : 'FAIL';
}

function renderTable(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

export function renderRows(rows: readonly Row[]): string {
  const body = rows.map((row) => [
    row.metric,
    `${fmt(row.swarmlet)} ${row.unit}`,
    `${fmt(row.baseline)} ${row.unit} (${row.baselineName})`,
    `${row.ratio.toFixed(2)}×${row.ratioNote ? ` ${row.ratioNote}` : ''}`,
    targetText(row),
    verdict(row),
  ]);
  return renderTable(['metric', 'Swarmlet', 'baseline', 'ratio', 'target', 'pass/fail'], body);
}

export function renderDetails(details: readonly Detail[]): string {
  const body = details.map((detail) => [
    detail.section,
    detail.name,
    `${fmt(detail.value)} ${detail.unit}`,
    detail.note ?? '',
  ]);
  return renderTable(['section', 'measurement', 'value', 'note'], body);
}

export function writeJson(results: Record<string, SectionResult>, meta: Record<string, unknown>): string {
  const directory = join(ROOT, 'bench-results');
  mkdirSync(directory, { recursive: true });
  const path = join(directory, 'latest.json');
  const sections = Object.fromEntries(
    Object.entries(results).map(([name, result]) => [
      name,
      { ...result, rows: result.rows.map((row) => ({ ...row, pass: passOf(row) ?? null })) },
    ]),
  );
  writeFileSync(path, `${JSON.stringify({ ...meta, sections }, null, 2)}\n`);
  // One file per section as well, so an `--only` run does not lose the other sections' last results.
  for (const [name, section] of Object.entries(sections))
    writeFileSync(join(directory, `${name}.json`), `${JSON.stringify({ ...meta, ...section }, null, 2)}\n`);
  return path;
}
