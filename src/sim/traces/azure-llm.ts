import { InputError } from '../../core/errors.js';
import type { RowIssue, Trace } from '../trace.js';
import { columnIndexes, count, readCsv, RowError, rowIssue, splitRow } from './csv.js';

/**
 * Loader for the Azure LLM inference trace (Patel et al., "Splitwise", ISCA 2024; CC-BY-4.0):
 * `TIMESTAMP,ContextTokens,GeneratedTokens`, one request per row, e.g.
 * `2023-11-16 18:17:03.9799600,4808,10` (7 fractional digits = 100 ns ticks).
 */
export interface LlmRequests {
  /** ms from the first row's timestamp, in file order (not re-sorted; ascending in the published file). */
  readonly arrivalsMs: Float64Array;
  readonly contextTokens: Uint32Array;
  readonly generatedTokens: Uint32Array;
}

export interface AzureLlmLoad {
  readonly requests: LlmRequests;
  readonly issues: RowIssue[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/**
 * Reads the LLM trace. Bad rows (unparsable timestamp, negative or fractional token counts, wrong
 * column count) are skipped and reported; a missing file or header throws, naming the file.
 * Timestamps carry no zone: they are read as UTC, which only matters if they straddle a DST change.
 */
export async function loadAzureLlm(file: string): Promise<AzureLlmLoad> {
  const csv = await readCsv(
    file,
    'pass the path of the Azure LLM trace, e.g. ../shared/traces/azure-llm-2023/code.csv',
  );
  const [timestampColumn = -1, contextColumn = -1, generatedColumn = -1] = columnIndexes(
    csv,
    ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'],
    'Azure LLM 2023 (code.csv or conversation.csv)',
  );
  const rows = csv.lines.length;
  const arrivalsMs = new Float64Array(rows);
  const contextTokens = new Uint32Array(rows);
  const generatedTokens = new Uint32Array(rows);
  const issues: RowIssue[] = [];
  let origin: Timestamp | undefined;
  let kept = 0;
  for (let index = 0; index < rows; index++) {
    try {
      const fields = splitRow(csv.lines[index] as string, csv.header.length);
      const time = parseTimestamp(fields[timestampColumn]);
      const context = count(fields[contextColumn], 'ContextTokens');
      const generated = count(fields[generatedColumn], 'GeneratedTokens');
      origin ??= time;
      // Seconds and the fraction are subtracted separately so sub-ms precision survives the 1.7e12 epoch.
      arrivalsMs[kept] = time.wholeSecondsMs - origin.wholeSecondsMs + (time.fractionMs - origin.fractionMs);
      contextTokens[kept] = context;
      generatedTokens[kept] = generated;
      kept++;
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      issues.push(rowIssue(csv.file, index, `${error.message}; request skipped`));
    }
  }
  const requests = {
    arrivalsMs: arrivalsMs.slice(0, kept),
    contextTokens: contextTokens.slice(0, kept),
    generatedTokens: generatedTokens.slice(0, kept),
  };
  return { requests, issues };
}

interface Timestamp {
  /** Epoch ms of the whole second (UTC). */
  readonly wholeSecondsMs: number;
  readonly fractionMs: number;
}

function parseTimestamp(value: string | undefined): Timestamp {
  const match = TIMESTAMP.exec(value ?? '');
  if (match === null) throw new RowError(`TIMESTAMP = '${value ?? ''}', expected YYYY-MM-DD HH:MM:SS[.fraction]`);
  const parts = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ?? '';
  const wholeSecondsMs = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]);
  const date = new Date(wholeSecondsMs);
  // Date.UTC rolls 2023-02-30 over into March: compare back to catch impossible dates and times.
  if (
    date.getUTCMonth() !== parts[1] - 1 ||
    date.getUTCDate() !== parts[2] ||
    date.getUTCHours() !== parts[3] ||
    date.getUTCMinutes() !== parts[4] ||
    date.getUTCSeconds() !== parts[5]
  ) {
    throw new RowError(`TIMESTAMP = '${value ?? ''}' is not a valid date and time`);
  }
  const fractionMs = fraction === '' ? 0 : Number(fraction) / 10 ** (fraction.length - 3);
  return { wholeSecondsMs, fractionMs };
}

export interface LlmTraceOptions {
  readonly memoryMb: number;
  /** Execution time of one request from its token counts (e.g. a prefill + decode cost model). */
  readonly durationMs: (contextTokens: number, generatedTokens: number) => number;
  readonly name?: string;
  /** End of the replay window; default: when the last request finishes. */
  readonly endMs?: number;
}

/**
 * One-app Trace (appId and ownerId 'llm') from the LLM requests, for SLA simulations. Requests are
 * sorted by arrival (stable) if the file was not; startMs = min(0, first arrival).
 */
export function llmTrace(requests: LlmRequests, options: LlmTraceOptions): Trace {
  if (!Number.isFinite(options.memoryMb) || options.memoryMb < 0)
    throw new InputError('memoryMb', `${options.memoryMb} is not a memory size`, 'pass a finite number of MB ≥ 0');
  const order = arrivalOrder(requests.arrivalsMs);
  const arrivalsMs = new Float64Array(order.length);
  const durationsMs = new Float64Array(order.length);
  let lastEndMs = 0;
  for (let i = 0; i < order.length; i++) {
    const request = order[i] as number;
    const durationMs = options.durationMs(
      requests.contextTokens[request] as number,
      requests.generatedTokens[request] as number,
    );
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      throw new InputError(
        'durationMs',
        `returned ${durationMs} for request ${request} (row ${request + 2})`,
        'return a finite duration in ms ≥ 0',
      );
    }
    arrivalsMs[i] = requests.arrivalsMs[request] as number;
    durationsMs[i] = durationMs;
    lastEndMs = Math.max(lastEndMs, (arrivalsMs[i] as number) + durationMs);
  }
  const startMs = Math.min(0, arrivalsMs[0] ?? 0);
  const endMs = options.endMs ?? lastEndMs;
  if (endMs < startMs)
    throw new InputError(
      'endMs',
      `${endMs} is before the trace start ${startMs}`,
      'pass an endMs after the first arrival',
    );
  return {
    name: options.name ?? 'azure-llm-2023',
    startMs,
    endMs,
    apps: [{ appId: 'llm', ownerId: 'llm', memoryMb: options.memoryMb, arrivalsMs, durationsMs }],
  };
}

function arrivalOrder(arrivalsMs: Float64Array): Uint32Array {
  const order = new Uint32Array(arrivalsMs.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < arrivalsMs.length && sorted; i++)
    sorted = (arrivalsMs[i] as number) >= (arrivalsMs[i - 1] as number);
  if (!sorted)
    return Uint32Array.from([...order].sort((a, b) => (arrivalsMs[a] as number) - (arrivalsMs[b] as number) || a - b));
  return order;
}
