import { readFile } from 'node:fs/promises';
import { InputError } from '../../core/errors.js';
import type { RowIssue } from '../trace.js';

/**
 * A minimal CSV reader for the public traces in ../shared/traces: they have no quoting, so a line
 * is split on commas. That assumption is checked (a quote anywhere fails loudly) instead of
 * trusted, because a quoted comma would silently shift every later column.
 */
export interface CsvText {
  readonly file: string;
  /** Column names from line 1. */
  readonly header: readonly string[];
  /** Data lines with '\r' stripped; lines[i] is line i + 2 of the file (the header is line 1). */
  readonly lines: readonly string[];
}

/** One bad row: thrown while parsing a row, caught by the loader and turned into a RowIssue. */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

/** The file line of data row `index` (header = line 1). */
export function lineOf(index: number): number {
  return index + 2;
}

export function rowIssue(file: string, index: number, message: string): RowIssue {
  return { file, line: lineOf(index), message };
}

/**
 * Reads a whole CSV file. A missing/unreadable file, an empty file or a quote character throws an
 * InputError naming the file and the fix (`fix` says where the file should come from).
 * Blank lines at the end are dropped; blank lines inside stay, so row numbers match file lines.
 */
export async function readCsv(file: string, fix: string): Promise<CsvText> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(file, `cannot read the file (${code})`, fix);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const quote = text.indexOf('"');
  if (quote >= 0) {
    const line = countNewlines(text, quote) + 1;
    throw new InputError(
      `${file}:${line}`,
      'contains a quote character; this loader splits lines on commas and does not support quoted CSV fields',
      'remove the quoting (the published trace files have none) or check this is the right file',
    );
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1);
  }
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const headerLine = lines.shift();
  if (headerLine === undefined) throw new InputError(file, 'the file is empty (no header line)', fix);
  return { file, header: headerLine.split(','), lines };
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0 && at < end; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/**
 * Returns the position of each required column, in the order asked. A missing column throws an
 * InputError that lists the expected columns, so a wrong or truncated file is named at once.
 */
export function columnIndexes(csv: CsvText, names: readonly string[], what: string): number[] {
  const indexes = names.map((name) => csv.header.indexOf(name));
  const missing = names.filter((_, i) => indexes[i] === -1);
  if (missing.length > 0) {
    const found = `${csv.header.slice(0, 6).join(',')}${csv.header.length > 6 ? ',…' : ''}`;
    throw new InputError(
      csv.file,
      `bad header: missing column(s) ${missing.join(', ')} (found ${found})`,
      `use the ${what} file; its header must contain ${names.join(',')}`,
    );
  }
  return indexes;
}

/** Splits a data line and checks it has as many fields as the header. */
export function splitRow(line: string, columns: number): string[] {
  if (line === '') throw new RowError('empty row');
  const fields = line.split(',');
  if (fields.length !== columns)
    throw new RowError(`expected ${columns} columns as in the header, found ${fields.length}`);
  return fields;
}

const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A non-negative decimal number (plain digits, optional fraction/exponent; no sign, hex or blanks). */
export function nonNegativeNumber(text: string | undefined, column: string): number {
  if (text === undefined || text === '') throw new RowError(`${column} is empty`);
  if (text.startsWith('-') && DECIMAL.test(text.slice(1)))
    throw new RowError(`${column} = ${text}, must be non-negative`);
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(value)) throw new RowError(`${column} = '${text}' is not a number`);
  return value;
}

/** A non-negative integer that fits in 32 bits (counts, token numbers). */
export function count(text: string | undefined, column: string): number {
  const value = nonNegativeNumber(text, column);
  if (!Number.isInteger(value)) throw new RowError(`${column} = ${text ?? ''}, must be a whole number`);
  if (value > 0xffffffff) throw new RowError(`${column} = ${text ?? ''} is too large (over 2^32 - 1)`);
  return value;
}

/** A non-empty text field (hashes, ids). */
export function text(value: string | undefined, column: string): string {
  if (value === undefined || value === '') throw new RowError(`${column} is empty`);
  return value;
}

/**
 * The hot path of the functions trace: parses `out.length` comma-separated counts that start right
 * after field `skip` of `line`, straight from char codes (no split, no per-field strings).
 * Only plain digits are accepted; anything else re-parses the field slowly for a precise message.
 */
export function parseCountsFrom(
  line: string,
  skip: number,
  out: Uint32Array,
  columnName: (field: number) => string,
): void {
  let position = 0;
  for (let field = 0; field < skip; field++) {
    position = line.indexOf(',', position) + 1;
    if (position === 0) throw columnCountError(line, skip + out.length);
  }
  let filled = 0;
  let value = 0;
  let digits = 0;
  for (let i = position; i <= line.length; i++) {
    const code = i < line.length ? line.charCodeAt(i) : 44;
    if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
      digits++;
    } else if (code === 44 && digits > 0 && digits <= 9 && filled < out.length) {
      out[filled++] = value;
      value = 0;
      digits = 0;
    } else {
      return slowCountError(line, skip, out.length, columnName);
    }
  }
  if (filled !== out.length) throw columnCountError(line, skip + out.length);
}

function slowCountError(line: string, skip: number, counts: number, columnName: (field: number) => string): never {
  const fields = splitRow(line, skip + counts);
  for (let i = 0; i < counts; i++) {
    const field = fields[skip + i];
    count(field, columnName(i)); // throws the precise message (empty, negative, fraction...)
    if (!/^\d{1,9}$/.test(field ?? ''))
      throw new RowError(`${columnName(i)} = ${field ?? ''}, must be plain digits below 10^9`);
  }
  throw new RowError('unparsable counts'); // unreachable: a field above failed the fast parser
}

function columnCountError(line: string, columns: number): RowError {
  return new RowError(
    `expected ${columns} columns as in the header, found ${line === '' ? 0 : line.split(',').length}`,
  );
}
