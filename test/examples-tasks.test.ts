import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Until `dist/` is built, the package's self-reference has nothing to resolve to; point it at the
// source, as the task compiler does when it bundles a task module.
vi.mock('swarmlet', () => import('../src/index.js'));

import type { TaskContext } from '../src/core/task-type.js';
import { parseJob } from '../src/core/job.js';
import { compileTaskModule } from '../src/runtime/local/task-compiler.js';
import compress, { type CompressOutput } from '../examples/file-pipeline/compress.js';
import hash, { type HashOutput } from '../examples/file-pipeline/hash.js';
import index, { type IndexSummary } from '../examples/file-pipeline/index.js';
import fileJob from '../examples/file-pipeline/job.js';
import sortJob from '../examples/merge-sort/job.js';
import sort, { checksumOf, generate, type SortInput, type SortedRun } from '../examples/merge-sort/sort.js';

const context = (deps: Record<string, unknown> = {}, depth = 1): TaskContext => ({
  id: 'test',
  depth,
  attempt: 1,
  deps,
});
const ITERATIONS = 1_000; // keep the fixed cost small in tests

let root: string;
const file = (name: string): string => join(root, 'tree', name);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'swarmlet-examples-'));
  mkdirSync(join(root, 'tree', 'sub'), { recursive: true });
  writeFileSync(file('a.txt'), 'hello swarmlet\n'.repeat(10));
  writeFileSync(file('sub/copy-of-a.txt'), 'hello swarmlet\n'.repeat(10));
  writeFileSync(file('empty'), '');
  writeFileSync(file('sub/big.bin'), Buffer.concat([randomBytes(50_000), Buffer.from('x'.repeat(150_000))]));
  writeFileSync(file('mid.json'), JSON.stringify({ values: Array.from({ length: 2_000 }, (_, i) => i) }));
  symlinkSync(file('sub/big.bin'), file('link-to-big'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('file-pipeline tasks', () => {
  it('hash returns the content sha256 and a PBKDF2 fingerprint of it', async () => {
    const output = (await hash.run({ path: file('sub/big.bin'), iterations: ITERATIONS }, context())) as HashOutput;
    const content = readFileSync(file('sub/big.bin'));
    const digest = createHash('sha256').update(content).digest();
    expect(output.sha256).toBe(digest.toString('hex'));
    expect(output.bytes).toBe(content.length);
    expect(output.fingerprint).toBe(
      pbkdf2Sync(digest, 'swarmlet-file-pipeline', ITERATIONS, 32, 'sha256').toString('hex'),
    );
    await expect(async () => hash.run({ path: file('a.txt'), iterations: 0 }, context())).rejects.toThrow(
      /iterations = 0/,
    );
  });

  it('compress output decompresses back to the file, and carries the sha256 from its hash dependency', async () => {
    const store = join(root, 'store');
    const hashed = (await hash.run({ path: file('mid.json'), iterations: ITERATIONS }, context())) as HashOutput;
    const output = (await compress.run(
      { path: file('mid.json'), quality: 5, store },
      context({ 'hash-3': hashed }),
    )) as CompressOutput;
    const original = readFileSync(file('mid.json'));
    expect(output).toMatchObject({ path: file('mid.json'), bytes: original.length, sha256: hashed.sha256 });
    expect(output.stored).toBe(join(store, `${hashed.sha256}.br`));
    const stored = readFileSync(output.stored!);
    expect(stored.length).toBe(output.compressedBytes);
    expect(output.compressedBytes).toBeLessThan(original.length);
    expect(brotliDecompressSync(stored).equals(original)).toBe(true);
  });

  it('compress refuses to run without its hash, or when the file changed since', async () => {
    await expect(async () => compress.run({ path: file('a.txt') }, context())).rejects.toThrow(/no hash output/);
    const stale = { path: file('a.txt'), bytes: 1, sha256: 'ab' };
    await expect(async () => compress.run({ path: file('a.txt') }, context({ h: stale }))).rejects.toThrow(
      /changed size/,
    );
  });

  it('index sums sizes, finds duplicates and writes the full index only when asked', async () => {
    const deps: Record<string, CompressOutput> = {};
    for (const [i, name] of ['a.txt', 'sub/copy-of-a.txt', 'mid.json', 'empty'].entries()) {
      const hashed = (await hash.run({ path: file(name), iterations: ITERATIONS }, context())) as HashOutput;
      deps[`compress-${i}`] = (await compress.run(
        { path: file(name), quality: 4 },
        context({ [`hash-${i}`]: hashed }),
      )) as CompressOutput;
    }
    const summary = (await index.run({}, context(deps))) as IndexSummary;
    const all = Object.values(deps);
    expect(summary.files).toBe(4);
    expect(summary.bytes).toBe(all.reduce((sum, entry) => sum + entry.bytes, 0));
    expect(summary.compressedBytes).toBe(all.reduce((sum, entry) => sum + entry.compressedBytes, 0));
    expect(summary.ratio).toBeCloseTo(summary.compressedBytes / summary.bytes, 3);
    expect(summary.duplicates).toMatchObject({ groups: 1, redundantFiles: 1, redundantBytes: 150 });
    expect([...summary.duplicates.top[0]!.paths].sort()).toEqual([file('a.txt'), file('sub/copy-of-a.txt')]);
    expect(summary.written).toBeUndefined();

    const out = join(root, 'out', 'index.json');
    const written = (await index.run({ out }, context(deps))) as IndexSummary;
    expect(written.written).toBe(out);
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      entries: unknown[];
      duplicates: { all: unknown[]; groups: number };
    };
    expect(json.entries).toHaveLength(4);
    expect(json.duplicates.all).toHaveLength(1);
    await expect(async () => index.run({}, context({ x: { path: 'p' } }))).rejects.toThrow(
      /did not produce a compress output/,
    );
  });

  it('the job lists regular files by size (no symlinks) and wires hash → compress → index', async () => {
    const job = await fileJob.build({ dir: join(root, 'tree'), iterations: '1000', quality: '4' });
    const parsed = parseJob(job); // the DAG passes the engine's own validation
    if (!('tasks' in parsed)) throw new Error('expected a DAG job');
    const hashes = parsed.tasks.filter((task) => task.type === 'hash');
    const paths = hashes.map((task) => (task.input as { path: string }).path);
    expect(paths).toEqual([
      file('empty'),
      file('a.txt'),
      file('sub/copy-of-a.txt'),
      file('mid.json'),
      file('sub/big.bin'),
    ]);
    expect(parsed.tasks.find((task) => task.id === 'compress-2')).toMatchObject({
      deps: ['hash-2'],
      input: { path: file('sub/copy-of-a.txt'), quality: 4 },
    });
    expect(parsed.tasks.at(-1)).toMatchObject({
      id: 'index',
      deps: ['compress-0', 'compress-1', 'compress-2', 'compress-3', 'compress-4'],
    });

    // Run the DAG in-process, in order, as the engine would.
    const outputs: Record<string, unknown> = {};
    for (const task of parsed.tasks) {
      const deps = Object.fromEntries(task.deps.map((id) => [id, outputs[id]]));
      const definition = { hash, compress, index }[task.type as 'hash' | 'compress' | 'index'];
      outputs[task.id] = await definition.run(task.input as never, context(deps, 0));
    }
    expect(outputs.index).toMatchObject({ files: 5, duplicates: { groups: 1 } });
  });

  it('the job samples evenly across sizes above the limit and names bad options', async () => {
    const job = (await fileJob.build({ dir: join(root, 'tree'), limit: '2' })) as {
      tasks: { type: string; input: { path: string } }[];
    };
    expect(job.tasks.filter((task) => task.type === 'hash').map((task) => task.input.path)).toEqual([
      file('empty'),
      file('sub/copy-of-a.txt'),
    ]);
    expect(() => fileJob.build({ dir: join(root, 'tree'), qualty: '5' })).toThrow(/--set qualty: unknown option/);
    expect(() => fileJob.build({ dir: join(root, 'tree'), quality: '12' })).toThrow(
      /--set quality=12: not an integer from 0 to 11/,
    );
    expect(() => fileJob.build({ dir: join(root, 'nowhere') })).toThrow(/not a directory/);
  });
});

describe('merge-sort task', () => {
  const input = (from: number, to: number, leaf = 4): SortInput => ({ seed: 7, from, to, leaf });
  const asRun = (values: number[]): SortedRun => {
    const data = Uint32Array.from(values);
    return {
      count: data.length,
      min: data[0]!,
      max: data.at(-1)!,
      checksum: checksumOf(data),
      sorted: true,
      data: Buffer.from(data.buffer).toString('base64'),
    };
  };
  const decode = (run: SortedRun): number[] =>
    Array.from(new Uint32Array(Uint8Array.from(Buffer.from(run.data!, 'base64')).buffer));

  it('split halves a range while it is larger than the leaf size', () => {
    expect(sort.split!(input(0, 10), context())).toEqual([
      { id: 'low', input: input(0, 5) },
      { id: 'high', input: input(5, 10) },
    ]);
    expect(sort.split!(input(3, 10), context())).toEqual([
      { id: 'low', input: input(3, 6) },
      { id: 'high', input: input(6, 10) },
    ]);
    expect(sort.split!(input(0, 4), context())).toBeUndefined();
    expect(() => sort.split!(input(5, 5), context())).toThrow(/0 ≤ from < to/);
  });

  it('a leaf generates its range and returns it sorted, with data only below the root', async () => {
    const run = (await sort.run(input(100, 1_100, 2_000), context())) as SortedRun;
    const expected = Array.from(generate(7, 100, 1_100)).sort((a, b) => a - b);
    expect(decode(run)).toEqual(expected);
    expect(run).toMatchObject({ count: 1_000, min: expected[0], max: expected.at(-1), sorted: true });
    const root = (await sort.run(input(100, 1_100, 2_000), context({}, 0))) as SortedRun;
    expect(root).toEqual({
      count: 1_000,
      min: expected[0],
      max: expected.at(-1),
      checksum: run.checksum,
      sorted: true,
    });
  });

  it('join merges sorted runs (duplicates included) and rejects runs that are not what they claim', async () => {
    const merged = (await sort.join!([asRun([1, 4, 4, 9]), asRun([0, 4, 10])], input(0, 7), context())) as SortedRun;
    expect(decode(merged)).toEqual([0, 1, 4, 4, 4, 9, 10]);
    expect(merged).toMatchObject({
      count: 7,
      min: 0,
      max: 10,
      checksum: checksumOf(Uint32Array.from([0, 1, 4, 4, 4, 9, 10])),
    });
    const top = (await sort.join!([asRun([3]), asRun([2])], input(0, 2), context({}, 0))) as SortedRun;
    expect(top).toEqual({ count: 2, min: 2, max: 3, checksum: checksumOf(Uint32Array.from([2, 3])), sorted: true });

    await expect(async () => sort.join!([asRun([2, 1]), asRun([3])], input(0, 3), context())).rejects.toThrow(
      /child 0 is not sorted/,
    );
    const tampered = { ...asRun([1, 2]), checksum: 5 };
    await expect(async () => sort.join!([asRun([0]), tampered], input(0, 3), context())).rejects.toThrow(
      /child 1 checksum mismatch/,
    );
    await expect(async () => sort.join!([{ count: 1 }], input(0, 1), context())).rejects.toThrow(/has no sorted run/);
  });

  it('the whole split/join tree sorts the same numbers as one big sort', async () => {
    // Emulates the engine: split until leaves, run leaves, join on the way up; outputs go through JSON like IPC.
    const execute = async (taskInput: SortInput, depth: number): Promise<SortedRun> => {
      const ctx = context({}, depth);
      const children = sort.split!(taskInput, ctx);
      const through = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
      if (!children) return through(await sort.run(taskInput, ctx)) as SortedRun;
      const outputs = await Promise.all(children.map((child) => execute(child.input as SortInput, depth + 1)));
      return through(await sort.join!(outputs, taskInput, ctx)) as SortedRun;
    };
    const length = 100_003;
    const tree = await execute({ seed: 42, from: 0, to: length, leaf: 5_000 }, 0);
    const all = generate(42, 0, length);
    const expected = Uint32Array.from(all).sort();
    expect(tree).toEqual({
      count: length,
      min: expected[0],
      max: expected.at(-1),
      checksum: checksumOf(all),
      sorted: true,
    });
    expect(await execute({ seed: 42, from: 0, to: length, leaf: length }, 0)).toEqual(tree); // one leaf, no split
  });

  it('the job starts one sort over the whole range and validates its options', async () => {
    expect(await sortJob.build({})).toEqual({ type: 'sort', input: { seed: 1, from: 0, to: 2_000_000, leaf: 50_000 } });
    expect(await sortJob.build({ seed: '9', length: '1_000', leaf: '1000' })).toEqual({
      type: 'sort',
      input: { seed: 9, from: 0, to: 1_000, leaf: 1_000 },
    });
    expect(() => sortJob.build({ length: '0' })).toThrow(/--set length=0/);
    expect(() => sortJob.build({ leaf: '10' })).toThrow(/--set leaf=10/);
    expect(() => sortJob.build({ size: '10' })).toThrow(/unknown option/);
  });
});

describe('example task modules', () => {
  it('bundle with esbuild the way swarmlets load them', async () => {
    const cache = join(root, 'cache');
    const modules = [
      'file-pipeline/hash.ts',
      'file-pipeline/compress.ts',
      'file-pipeline/index.ts',
      'merge-sort/sort.ts',
    ];
    const compiled = await Promise.all(modules.map((path) => compileTaskModule(join('examples', path), cache)));
    expect(compiled.map((info) => [info.name, info.hasJoin])).toEqual([
      ['hash', false],
      ['compress', false],
      ['index', false],
      ['sort', true],
    ]);
  });
});
