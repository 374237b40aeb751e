import { InputError } from '../../core/errors.js';
import type { RowIssue } from '../trace.js';
import { DURATION_PERCENTILES } from './arrivals.js';
import {
  columnIndexes,
  count,
  type CsvText,
  nonNegativeNumber,
  parseCountsFrom,
  RowError,
  rowIssue,
  splitRow,
  text,
} from './csv.js';

/** Header checks and per-row parsing for the three Azure Functions 2019 files. */
export interface FunctionsFiles {
  readonly invocations: CsvText;
  readonly durations: CsvText;
  readonly memory: CsvText;
}

const PERCENTILE_COLUMNS = DURATION_PERCENTILES.map((rank) => `percentile_Average_${rank}`);
const DURATION_COLUMNS = ['HashFunction', 'HashOwner', 'Average', ...PERCENTILE_COLUMNS];
const MEMORY_COLUMNS = ['HashOwner', 'AverageAllocatedMb'];
/** Columns that must hold whole numbers (the others may have fractions, e.g. Minimum = 42.0). */
const INTEGER_COLUMNS = new Set(['Count', 'SampleCount']);

export interface FunctionsHeaders {
  readonly minutes: number;
  readonly duration: {
    readonly hashFunction: number;
    readonly average: number;
    readonly percentiles: readonly number[];
  };
  readonly memory: { readonly averageMb: number };
}

export interface FunctionRow {
  readonly functionId: string;
  readonly ownerId: string;
  readonly memoryMb: number;
  readonly averageMs: number;
  /** The 7 duration percentile points, non-decreasing. */
  readonly percentilesMs: Float64Array;
  readonly hashMismatch: boolean;
}

export function readHeaders(files: FunctionsFiles): FunctionsHeaders {
  const minutes = checkInvocationsHeader(files.invocations);
  const [hashFunction = -1, , average = -1, ...percentiles] = columnIndexes(
    files.durations,
    DURATION_COLUMNS,
    'Azure Functions durations_ms.csv',
  );
  const [, averageMb = -1] = columnIndexes(files.memory, MEMORY_COLUMNS, 'Azure Functions memory_mb.csv');
  return { minutes, duration: { hashFunction, average, percentiles }, memory: { averageMb } };
}

/** `HashFunction,HashOwner,HashApp` then one column per minute, named `minute_1..N` or `1..N`. */
function checkInvocationsHeader(csv: CsvText): number {
  const fix =
    'use the Azure Functions invocations_per_minute.csv file: header HashFunction,HashOwner,HashApp,1..1440 (or minute_1..minute_1440)';
  const [hashFunction, hashOwner, hashApp] = csv.header;
  if (hashFunction !== 'HashFunction' || hashOwner !== 'HashOwner' || hashApp !== 'HashApp') {
    throw new InputError(
      csv.file,
      `bad header: starts with ${csv.header.slice(0, 3).join(',')}, expected HashFunction,HashOwner,HashApp`,
      fix,
    );
  }
  const minutes = csv.header.length - 3;
  if (minutes < 1) throw new InputError(csv.file, 'bad header: no minute columns', fix);
  for (let i = 1; i <= minutes; i++) {
    const name = csv.header[i + 2];
    if (name !== String(i) && name !== `minute_${i}`)
      throw new InputError(csv.file, `bad header: column ${i + 3} is '${name ?? ''}', expected minute_${i}`, fix);
  }
  return minutes;
}

/**
 * Parses data row `index` of all three files (counts go into `counts`). A bad or missing row in
 * any file adds one RowIssue per bad file and returns undefined: the function is skipped.
 */
export function parseFunctionRow(
  files: FunctionsFiles,
  headers: FunctionsHeaders,
  index: number,
  counts: Uint32Array,
  issues: RowIssue[],
): FunctionRow | undefined {
  const invocation = attempt(files.invocations, index, issues, (line) =>
    parseInvocationRow(line, files.invocations.header, counts),
  );
  const duration = attempt(files.durations, index, issues, (line) =>
    parseDurationRow(line, files.durations.header, headers.duration),
  );
  const memoryMb = attempt(
    files.memory,
    index,
    issues,
    (line) =>
      numericFields(splitRow(line, files.memory.header.length), files.memory.header)[
        headers.memory.averageMb
      ] as number,
  );
  if (invocation === undefined || duration === undefined || memoryMb === undefined) return undefined;
  return {
    functionId: invocation.functionId,
    ownerId: invocation.ownerId,
    memoryMb,
    averageMs: duration.averageMs,
    percentilesMs: duration.percentilesMs,
    hashMismatch: duration.hashFunction !== invocation.functionId,
  };
}

function attempt<T>(csv: CsvText, index: number, issues: RowIssue[], parse: (line: string) => T): T | undefined {
  const line = csv.lines[index];
  if (line === undefined) {
    issues.push(
      rowIssue(
        csv.file,
        index,
        `missing: the file has only ${csv.lines.length} data rows (the three files must list the same functions in the same order)`,
      ),
    );
    return undefined;
  }
  try {
    return parse(line);
  } catch (error) {
    if (!(error instanceof RowError)) throw error;
    issues.push(rowIssue(csv.file, index, `${error.message}; function row skipped`));
    return undefined;
  }
}

function parseInvocationRow(
  line: string,
  header: readonly string[],
  counts: Uint32Array,
): { functionId: string; ownerId: string } {
  const first = line.indexOf(',');
  const second = line.indexOf(',', first + 1);
  const third = line.indexOf(',', second + 1);
  if (first < 0 || second < 0 || third < 0)
    throw new RowError(
      `expected ${header.length} columns as in the header, found ${line === '' ? 0 : line.split(',').length}`,
    );
  const functionId = text(line.slice(0, first), 'HashFunction');
  const ownerId = text(line.slice(first + 1, second), 'HashOwner');
  text(line.slice(second + 1, third), 'HashApp');
  parseCountsFrom(line, 3, counts, (minute) => header[minute + 3] ?? `minute_${minute + 1}`);
  return { functionId, ownerId };
}

function parseDurationRow(
  line: string,
  header: readonly string[],
  columns: FunctionsHeaders['duration'],
): { hashFunction: string; averageMs: number; percentilesMs: Float64Array } {
  const fields = splitRow(line, header.length);
  const values = numericFields(fields, header);
  const percentilesMs = new Float64Array(columns.percentiles.map((column) => values[column] as number));
  for (let i = 1; i < percentilesMs.length; i++) {
    if ((percentilesMs[i] as number) < (percentilesMs[i - 1] as number)) {
      throw new RowError(
        `${PERCENTILE_COLUMNS[i] ?? ''} = ${percentilesMs[i] ?? ''} is below ${PERCENTILE_COLUMNS[i - 1] ?? ''} = ${percentilesMs[i - 1] ?? ''}; percentiles must be non-decreasing`,
      );
    }
  }
  return {
    hashFunction: text(fields[columns.hashFunction], 'HashFunction'),
    averageMs: values[columns.average] as number,
    percentilesMs,
  };
}

/** Checks every column of a row: Hash* columns non-empty text, all others non-negative numbers. */
function numericFields(fields: readonly string[], header: readonly string[]): number[] {
  const values: number[] = new Array<number>(fields.length).fill(Number.NaN);
  for (let i = 0; i < fields.length; i++) {
    const name = header[i] ?? `column ${i + 1}`;
    if (name.startsWith('Hash')) text(fields[i], name);
    else values[i] = INTEGER_COLUMNS.has(name) ? count(fields[i], name) : nonNegativeNumber(fields[i], name);
  }
  return values;
}
