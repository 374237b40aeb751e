import { defineTask } from 'swarmlet';

/**
 * A range of the virtual array: element i (from ≤ i < to) is `valueAt(seed, i)`; ranges above `leaf` elements split in
 * two.
 */
export interface SortInput {
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  readonly leaf: number;
}

/** What a range sorts into. `data` (the sorted run) travels only between micro-tasks, never out of the job. */
export interface SortedRun {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** Order-independent: the sum of every element's mix, mod 2^32. A parent's is the sum of its children's. */
  readonly checksum: number;
  /** True only after it was checked: every run a join merges is verified sorted first. */
  readonly sorted: true;
  /**
   * The run as base64 of a little-endian Uint32Array: 4/3 bytes a byte, far cheaper through JSON IPC than a number
   * array.
   */
  readonly data?: string;
}

/** Ranges past 2^32 would repeat values: keep indexes inside uint32. */
const MAX_INDEX = 2 ** 32;

/**
 * Merge sort as a tree of micro-tasks: `split` halves a range while it is longer than `leaf`,
 * a leaf generates its numbers from the seed and sorts them, `join` merges two sorted runs.
 * Only the job's root (depth 0) drops the data and returns the summary.
 */
export default defineTask<SortInput, SortedRun>({
  name: 'sort',
  resources: { durationMs: 10 },
  // Numbers in the range (a join's input is { input, outputs }: its range is under `input`).
  size: (input) => {
    const range = 'input' in input ? (input as unknown as { input: SortInput }).input : input;
    return range.to - range.from;
  },
  split(input) {
    checkInput(input);
    if (input.to - input.from <= input.leaf) return undefined;
    const middle = input.from + Math.floor((input.to - input.from) / 2);
    return [
      { id: 'low', input: { ...input, to: middle } },
      { id: 'high', input: { ...input, from: middle } },
    ];
  },
  run(input, ctx) {
    checkInput(input);
    const values = generate(input.seed, input.from, input.to);
    const checksum = checksumOf(values);
    values.sort();
    return toRun(values, checksum, ctx.depth === 0);
  },
  join(outputs, _input, ctx) {
    const runs = outputs.map((output, i) => fromRun(output, `child ${i}`));
    let merged = runs[0] ?? new Uint32Array(0);
    for (const run of runs.slice(1)) merged = merge(merged, run);
    const checksum = outputs.reduce<number>((sum, output) => (sum + (output as SortedRun).checksum) >>> 0, 0);
    return toRun(merged, checksum, ctx.depth === 0);
  },
});

/** murmur3's 32-bit finaliser: a bijection on uint32, so one seed never repeats a value inside a range. */
export function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Element i of the virtual array for `seed`: depends on nothing else, so any split sorts the same numbers. */
export function valueAt(seed: number, index: number): number {
  return mix((index ^ mix(seed + 0x9e3779b9)) >>> 0);
}

export function generate(seed: number, from: number, to: number): Uint32Array {
  const values = new Uint32Array(to - from);
  for (let i = from; i < to; i++) values[i - from] = valueAt(seed, i);
  return values;
}

export function checksumOf(values: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum = (sum + mix(values[i]! ^ 0x5bd1e995)) >>> 0;
  return sum;
}

export function merge(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function toRun(sorted: Uint32Array, checksum: number, top: boolean): SortedRun {
  if (sorted.length === 0) throw new Error('sort: a range must hold at least one element');
  const summary = {
    count: sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    checksum,
    sorted: true as const,
  };
  if (top) return summary;
  return { ...summary, data: Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength).toString('base64') };
}

/** Decodes a child's run and checks it against its own claims, so `sorted: true` at the root is earned. */
function fromRun(output: unknown, name: string): Uint32Array {
  const run = output as Partial<SortedRun> | null;
  if (typeof run?.data !== 'string' || typeof run.count !== 'number' || typeof run.checksum !== 'number') {
    throw new Error(
      `sort.join: ${name} has no sorted run ({ count, checksum, data }); only sort micro-tasks below the root carry data`,
    );
  }
  const bytes = Buffer.from(run.data, 'base64');
  if (bytes.length !== run.count * 4)
    throw new Error(`sort.join: ${name} carries ${bytes.length} bytes for ${run.count} elements`);
  const values = new Uint32Array(run.count);
  new Uint8Array(values.buffer).set(bytes); // copy: a pooled Buffer may not be 4-byte aligned
  for (let i = 1; i < values.length; i++) {
    if (values[i - 1]! > values[i]!)
      throw new Error(`sort.join: ${name} is not sorted at element ${i} (${values[i - 1]} > ${values[i]})`);
  }
  if (checksumOf(values) !== run.checksum)
    throw new Error(`sort.join: ${name} checksum mismatch: its data does not hold the numbers its leaf generated`);
  return values;
}

function checkInput(input: SortInput): void {
  const { seed, from, to, leaf } = input ?? ({} as SortInput);
  if (!Number.isSafeInteger(seed)) throw new Error(`sort: seed = ${String(seed)} must be an integer`);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to <= from || to > MAX_INDEX) {
    throw new Error(`sort: range [${String(from)}, ${String(to)}) must be integers with 0 ≤ from < to ≤ 2^32`);
  }
  if (!Number.isSafeInteger(leaf) || leaf < 1)
    throw new Error(`sort: leaf = ${String(leaf)} must be a positive integer`);
}
