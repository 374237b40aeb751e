import { basename, join } from 'node:path';
import { z } from 'zod';
import { seededRng } from '../../core/clock.js';
import { InputError } from '../../core/errors.js';
import type { RowIssue, Trace, TraceApp } from '../trace.js';
import { MINUTE_MS, placeArrivals, sampleDurations, Scratch } from './arrivals.js';
import { type CsvText, readCsv, rowIssue } from './csv.js';
import { type FunctionsFiles, parseFunctionRow, readHeaders } from './azure-functions-rows.js';

/**
 * Loader for the Azure Functions 2019 trace sample in ../shared/traces/azure-functions-2019
 * (Shahrad et al., "Serverless in the Wild", USENIX ATC 2020; CC-BY-4.0).
 *
 * Row k of the three files describes function k (the files are in the same order; the duration
 * and memory rows are realistic distributions, not that function's measured truth: see the
 * traces README). Every function row becomes its own app (appId = HashFunction,
 * ownerId = HashOwner), memory = AverageAllocatedMb.
 */
export interface AzureFunctionsOptions {
  /** Use only the first N data rows of the files (bad rows among them are skipped, so apps ≤ N). */
  readonly functions?: number;
  /**
   * Replay only minutes [A·60, B·60) of the day. Arrival times are ms from the window start:
   * the Trace has startMs = 0 and endMs = (B − A)·3 600 000; stats.windowOffsetMs = A·3 600 000
   * recovers the time of day. Default: the whole file (24 hours).
   */
  readonly hours?: readonly [number, number];
  /** How a minute's count is placed inside it (see placeArrivals). */
  readonly arrivals: 'even' | 'uniform' | 'poisson';
  /** All randomness comes from seededRng(seed): same options and files → identical trace. */
  readonly seed: number;
  /** 'average': every call takes the row's Average; 'sampled': inverse-CDF draws over the percentiles. */
  readonly durations: 'average' | 'sampled';
}

export interface AzureFunctionsStats {
  /** Data rows considered (after `functions`). */
  readonly rows: number;
  readonly apps: number;
  readonly skippedRows: number;
  /** Invocations in the returned trace. */
  readonly invocations: number;
  /** Sum of the CSV counts inside the window (equals `invocations` except for poisson arrivals). */
  readonly countedInvocations: number;
  /** Apps kept although they have no invocation in the window (they keep their row position). */
  readonly appsWithoutInvocations: number;
  /** Rows whose function hash differs between the invocation and duration files (0 in the sample). */
  readonly hashMismatches: number;
  readonly windowStartMinute: number;
  readonly windowEndMinute: number;
  readonly windowOffsetMs: number;
}

export interface AzureFunctionsLoad {
  readonly trace: Trace;
  readonly issues: RowIssue[];
  readonly stats: AzureFunctionsStats;
}

export const AZURE_FUNCTIONS_FILES = {
  invocations: 'invocations_per_minute.csv',
  durations: 'durations_ms.csv',
  memory: 'memory_mb.csv',
} as const;

const optionsSchema = z.object({
  functions: z.number().int().positive().optional(),
  hours: z.tuple([z.number().min(0), z.number().positive()]).optional(),
  arrivals: z.enum(['even', 'uniform', 'poisson']),
  seed: z.number().int(),
  durations: z.enum(['average', 'sampled']),
});

/** A second, independent stream per app for durations, so switching `durations` keeps arrivals. */
const DURATION_STREAM = 0x9e3779b9;

export async function loadAzureFunctions(dir: string, options: AzureFunctionsOptions): Promise<AzureFunctionsLoad> {
  const valid = validateOptions(options);
  const files = await readFiles(dir);
  const headers = readHeaders(files);
  const window = windowOf(valid.hours, headers.minutes);
  const rows = Math.min(valid.functions ?? Number.POSITIVE_INFINITY, files.invocations.lines.length);
  const issues: RowIssue[] = [];
  const apps: TraceApp[] = [];
  const master = seededRng(valid.seed);
  const scratch = new Scratch();
  const counts = new Uint32Array(headers.minutes);
  const tally = { counted: 0, invocations: 0, idle: 0, mismatches: 0 };
  for (let index = 0; index < rows; index++) {
    // drawn for every row: app k's randomness never depends on other rows
    const appSeed = Math.floor(master.next() * 0x100000000);
    const row = parseFunctionRow(files, headers, index, counts, issues);
    if (row === undefined) continue;
    if (row.hashMismatch) tally.mismatches++;
    const windowCounts = counts.subarray(window.startMinute, window.endMinute);
    const arrivalsMs = placeArrivals(windowCounts, valid.arrivals, seededRng(appSeed), scratch);
    const durationsMs =
      valid.durations === 'average'
        ? new Float64Array(arrivalsMs.length).fill(row.averageMs)
        : sampleDurations(row.percentilesMs, arrivalsMs.length, seededRng(appSeed ^ DURATION_STREAM));
    for (const n of windowCounts) tally.counted += n;
    tally.invocations += arrivalsMs.length;
    if (arrivalsMs.length === 0) tally.idle++;
    apps.push({ appId: row.functionId, ownerId: row.ownerId, memoryMb: row.memoryMb, arrivalsMs, durationsMs });
  }
  if (valid.functions === undefined) reportExtraRows(files, rows, issues);
  const trace: Trace = {
    name: `${basename(dir)} h${window.startMinute / 60}-${window.endMinute / 60} ${valid.arrivals} arrivals, ${valid.durations} durations, seed ${valid.seed}`,
    startMs: 0,
    endMs: (window.endMinute - window.startMinute) * MINUTE_MS,
    apps,
  };
  const stats: AzureFunctionsStats = {
    rows,
    apps: apps.length,
    skippedRows: rows - apps.length,
    invocations: tally.invocations,
    countedInvocations: tally.counted,
    appsWithoutInvocations: tally.idle,
    hashMismatches: tally.mismatches,
    windowStartMinute: window.startMinute,
    windowEndMinute: window.endMinute,
    windowOffsetMs: window.startMinute * MINUTE_MS,
  };
  return { trace, issues, stats };
}

function validateOptions(options: AzureFunctionsOptions): z.infer<typeof optionsSchema> {
  const parsed = optionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = `options.${issue?.path.join('.') ?? ''}`;
  throw new InputError(
    field,
    issue?.message ?? 'invalid',
    "pass { arrivals: 'even' | 'uniform' | 'poisson', durations: 'average' | 'sampled', seed: integer, functions?: positive integer, hours?: [from, to] }",
  );
}

async function readFiles(dir: string): Promise<FunctionsFiles> {
  const fix = `put the Azure Functions 2019 trace files (${Object.values(AZURE_FUNCTIONS_FILES).join(', ')}) in ${dir}; the full sample is in ../shared/traces/azure-functions-2019`;
  const reads = await Promise.allSettled([
    readCsv(join(dir, AZURE_FUNCTIONS_FILES.invocations), fix),
    readCsv(join(dir, AZURE_FUNCTIONS_FILES.durations), fix),
    readCsv(join(dir, AZURE_FUNCTIONS_FILES.memory), fix),
  ]);
  // Report the first problem in file order, not whichever read failed first (same input, same message).
  const failed = reads.find((read) => read.status === 'rejected');
  if (failed) throw failed.reason;
  const [invocations, durations, memory] = reads.map(
    (read) => (read as PromiseFulfilledResult<Awaited<ReturnType<typeof readCsv>>>).value,
  );
  return { invocations: invocations!, durations: durations!, memory: memory! };
}

function windowOf(
  hours: readonly [number, number] | undefined,
  minutes: number,
): { startMinute: number; endMinute: number } {
  if (hours === undefined) return { startMinute: 0, endMinute: minutes };
  const [fromHours, toHours] = hours;
  const startMinute = fromHours * 60;
  const endMinute = toHours * 60;
  const fix = `pass hours [A, B] with 0 ≤ A < B ≤ ${minutes / 60} and A·60, B·60 whole minutes`;
  if (!Number.isInteger(startMinute) || !Number.isInteger(endMinute))
    throw new InputError('options.hours', `[${fromHours}, ${toHours}] does not fall on whole minutes`, fix);
  if (startMinute >= endMinute)
    throw new InputError('options.hours', `[${fromHours}, ${toHours}] is empty or reversed`, fix);
  if (endMinute > minutes)
    throw new InputError('options.hours', `[${fromHours}, ${toHours}] ends after the trace's ${minutes} minutes`, fix);
  return { startMinute, endMinute };
}

/** Extra duration/memory rows mean the files are not aligned: worth one issue each, not silence. */
function reportExtraRows(files: FunctionsFiles, rows: number, issues: RowIssue[]): void {
  for (const csv of [files.durations, files.memory] satisfies CsvText[]) {
    const extra = csv.lines.length - rows;
    if (extra > 0)
      issues.push(
        rowIssue(
          csv.file,
          rows,
          `${extra} more data row(s) than ${AZURE_FUNCTIONS_FILES.invocations}; ignored (the three files must list the same functions in the same order)`,
        ),
      );
  }
}
