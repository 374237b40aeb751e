import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRng } from '../src/core/clock.js';
import { InputError } from '../src/core/errors.js';
import { placeArrivals, sampleDurations, Scratch } from '../src/sim/traces/arrivals.js';
import {
  AZURE_FUNCTIONS_FILES,
  loadAzureFunctions,
  type AzureFunctionsOptions,
} from '../src/sim/traces/azure-functions.js';
import { llmTrace, loadAzureLlm } from '../src/sim/traces/azure-llm.js';
import type { TraceApp } from '../src/sim/trace.js';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/traces');
const GOOD = join(FIXTURES, 'azure-functions-2019');
const BAD = join(FIXTURES, 'azure-functions-bad');
const REAL = resolve(import.meta.dirname, '../../shared/traces/azure-functions-2019');
const LLM = join(FIXTURES, 'azure-llm-2023/code.csv');
const REAL_LLM = resolve(import.meta.dirname, '../../shared/traces/azure-llm-2023/code.csv');
const DAY_MS = 24 * 3_600_000;

/** The fixture parsed independently of the loader: per row, the fields of each file. */
async function rowsOf(dir: string, file: string): Promise<string[][]> {
  const text = await readFile(join(dir, file), 'utf8');
  return text
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((line) => line.split(','));
}

async function fixtureCounts(): Promise<number[][]> {
  return (await rowsOf(GOOD, AZURE_FUNCTIONS_FILES.invocations)).map((fields) => fields.slice(3).map(Number));
}

function perMinute(arrivalsMs: Float64Array, minutes: number): number[] {
  const counts = new Array<number>(minutes).fill(0);
  for (const t of arrivalsMs) counts[Math.floor(t / 60_000)]! += 1;
  return counts;
}

/** Apps whose arrivals are not ascending (a plain loop: one expect per call would take seconds on the real trace). */
function unsortedApps(apps: readonly TraceApp[]): string[] {
  return apps
    .filter((app) => app.arrivalsMs.some((t, i) => i > 0 && t < app.arrivalsMs[i - 1]!))
    .map((app) => app.appId);
}

function load(options: Partial<AzureFunctionsOptions> = {}, dir = GOOD) {
  return loadAzureFunctions(dir, { arrivals: 'even', durations: 'average', seed: 1, ...options });
}

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmlet-traces-'));
  tempDirs.push(dir);
  return dir;
}

async function tempCopy(edit: (name: string, text: string) => string | undefined): Promise<string> {
  const dir = await tempDir();
  for (const name of Object.values(AZURE_FUNCTIONS_FILES)) {
    const text = edit(name, await readFile(join(GOOD, name), 'utf8'));
    if (text !== undefined) await writeFile(join(dir, name), text);
  }
  return dir;
}

describe('loadAzureFunctions: the fixture (first 12 rows)', () => {
  it("'even' keeps every minute's count and spaces calls exactly (i + 0.5)/n inside the minute", async () => {
    const counts = await fixtureCounts();
    const { trace, issues, stats } = await load();
    expect(issues).toEqual([]);
    expect(trace.apps).toHaveLength(12);
    expect([trace.startMs, trace.endMs]).toEqual([0, DAY_MS]);
    trace.apps.forEach((app, row) => {
      expect(perMinute(app.arrivalsMs, 1440)).toEqual(counts[row]);
      const expected: number[] = [];
      counts[row]!.forEach((n, minute) => {
        for (let i = 0; i < n; i++) expected.push(minute * 60_000 + ((i + 0.5) * 60_000) / n);
      });
      expect(Array.from(app.arrivalsMs)).toEqual(expected);
    });
    const total = counts.flat().reduce((a, b) => a + b, 0);
    expect(stats).toMatchObject({
      rows: 12,
      apps: 12,
      skippedRows: 0,
      invocations: total,
      countedInvocations: total,
      hashMismatches: 0,
    });
  });

  it('one app per row: ids from the invocation file, memory = AverageAllocatedMb, durations = Average', async () => {
    const invocations = await rowsOf(GOOD, AZURE_FUNCTIONS_FILES.invocations);
    const durations = await rowsOf(GOOD, AZURE_FUNCTIONS_FILES.durations);
    const memory = await rowsOf(GOOD, AZURE_FUNCTIONS_FILES.memory);
    const { trace } = await load();
    trace.apps.forEach((app, row) => {
      expect(app.appId).toBe(invocations[row]![0]);
      expect(app.ownerId).toBe(invocations[row]![1]);
      expect(app.memoryMb).toBe(Number(memory[row]![3]));
      expect(app.durationsMs).toHaveLength(app.arrivalsMs.length);
      expect(new Set(app.durationsMs)).toEqual(new Set([Number(durations[row]![3])]));
      expect(app.arrivalsMs).toBeInstanceOf(Float64Array);
    });
  });

  it("'uniform' keeps every minute's count, sorts, and is a function of the seed", async () => {
    const counts = await fixtureCounts();
    const a = await load({ arrivals: 'uniform', seed: 7 });
    const b = await load({ arrivals: 'uniform', seed: 7 });
    const c = await load({ arrivals: 'uniform', seed: 8 });
    a.trace.apps.forEach((app, row) => {
      expect(perMinute(app.arrivalsMs, 1440)).toEqual(counts[row]);
      expect(app.arrivalsMs).toEqual(b.trace.apps[row]!.arrivalsMs);
    });
    expect(unsortedApps(a.trace.apps)).toEqual([]);
    expect(a.trace.apps[0]!.arrivalsMs).not.toEqual(c.trace.apps[0]!.arrivalsMs);
  });

  it("'poisson' is deterministic per seed, sorted, inside the day and close to the CSV total", async () => {
    const a = await load({ arrivals: 'poisson', seed: 3 });
    const b = await load({ arrivals: 'poisson', seed: 3 });
    const c = await load({ arrivals: 'poisson', seed: 4 });
    expect(a.trace.apps.map((app) => app.arrivalsMs)).toEqual(b.trace.apps.map((app) => app.arrivalsMs));
    expect(a.trace.apps.map((app) => app.arrivalsMs)).not.toEqual(c.trace.apps.map((app) => app.arrivalsMs));
    expect(unsortedApps(a.trace.apps)).toEqual([]);
    for (const app of a.trace.apps) {
      expect(app.arrivalsMs[0] ?? 0).toBeGreaterThanOrEqual(0);
      expect(app.arrivalsMs.at(-1) ?? 0).toBeLessThan(DAY_MS);
    }
    // Total ~ Poisson(4574): sd ≈ 68, so 5% (≈ 230) is more than 3 sd.
    expect(a.stats.countedInvocations).toBe(4574);
    expect(Math.abs(a.stats.invocations - 4574)).toBeLessThan(0.05 * 4574);
  });

  it('`functions` takes the first N rows, each app identical to the same row of a full load', async () => {
    const full = await load({ arrivals: 'uniform', durations: 'sampled', seed: 5 });
    const first = await load({ arrivals: 'uniform', durations: 'sampled', seed: 5, functions: 5 });
    expect(first.trace.apps).toEqual(full.trace.apps.slice(0, 5));
    expect(first.stats.rows).toBe(5);
  });

  it('`hours` replays minutes [A·60, B·60) with times from the window start', async () => {
    const counts = await fixtureCounts();
    const { trace, stats } = await load({ hours: [6, 12] });
    expect([trace.startMs, trace.endMs]).toEqual([0, 6 * 3_600_000]);
    expect(stats).toMatchObject({ windowStartMinute: 360, windowEndMinute: 720, windowOffsetMs: 6 * 3_600_000 });
    trace.apps.forEach((app, row) => expect(perMinute(app.arrivalsMs, 360)).toEqual(counts[row]!.slice(360, 720)));
    expect(stats.appsWithoutInvocations).toBe(trace.apps.filter((app) => app.arrivalsMs.length === 0).length);
    expect(stats.appsWithoutInvocations).toBeGreaterThan(0);
  });

  it.each([
    [[12, 6], 'reversed'],
    [[0, 25], 'ends after'],
    [[0.01, 1], 'whole minutes'],
  ] as const)('rejects hours %j (%s)', async (hours, message) => {
    await expect(load({ hours })).rejects.toThrow(message);
  });

  it('rejects bad options with the field and the fix', async () => {
    const options = { arrivals: 'bursty', durations: 'average', seed: 1 } as unknown as AzureFunctionsOptions;
    const error = await loadAzureFunctions(GOOD, options).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('options.arrivals');
    expect((error as Error).message).toContain('Fix:');
  });
});

describe('durations', () => {
  it("'sampled' stays in [p0, p100] per app, keeps the arrivals, and its median is near p50", async () => {
    const durations = await rowsOf(GOOD, AZURE_FUNCTIONS_FILES.durations);
    const average = await load({ arrivals: 'uniform', seed: 2 });
    const sampled = await load({ arrivals: 'uniform', seed: 2, durations: 'sampled' });
    sampled.trace.apps.forEach((app, row) => {
      const [p0, p100] = [Number(durations[row]![7]), Number(durations[row]![13])];
      for (const d of app.durationsMs) expect(d >= p0 && d <= p100, `${d} in [${p0}, ${p100}]`).toBe(true);
      expect(app.arrivalsMs).toEqual(average.trace.apps[row]!.arrivalsMs);
    });
    // Row 6 has 2,031 calls; p25 = 45, p50 = 49, p75 = 55 ms.
    const busy = Array.from(sampled.trace.apps[4]!.durationsMs).sort((a, b) => a - b);
    expect(busy).toHaveLength(2031);
    expect(Math.abs(busy[1015]! - 49)).toBeLessThan(1.5);
  });

  it('inverse-CDF sampling reproduces the percentile points over many draws', () => {
    const points = new Float64Array([10, 20, 100, 200, 400, 1000, 5000]);
    const draws = sampleDurations(points, 200_000, seededRng(9));
    expect(draws.every((d) => d >= 10 && d <= 5000)).toBe(true);
    // The share of draws at or below each point is its rank (sd of a share ≈ 0.001 here).
    for (const [rank, value] of [
      [1, 20],
      [25, 100],
      [50, 200],
      [75, 400],
      [99, 1000],
    ] as const) {
      const share = draws.filter((d) => d <= value).length / draws.length;
      expect(Math.abs(share - rank / 100), `p${rank}`).toBeLessThan(0.005);
    }
  });
});

describe('placeArrivals on busy minutes', () => {
  const counts = new Uint32Array([0, 5, 1000, 1, 0]);
  it.each(['even', 'uniform'] as const)('%s keeps the counts and sorts', (pattern) => {
    const arrivals = placeArrivals(counts, pattern, seededRng(1), new Scratch());
    expect(perMinute(arrivals, 5)).toEqual([0, 5, 1000, 1, 0]);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]!).toBeGreaterThanOrEqual(arrivals[i - 1]!);
  });
  it('even spacing is exact', () => {
    const arrivals = placeArrivals(counts, 'even', seededRng(1), new Scratch());
    expect(Array.from(arrivals.subarray(0, 5))).toEqual([6_000, 18_000, 30_000, 42_000, 54_000].map((t) => 60_000 + t));
    expect(arrivals[5]).toBe(120_000 + 30);
    expect(arrivals.at(-1)).toBe(210_000);
  });
  it('poisson grows its scratch buffer past 1024 and stays inside the busy minute', () => {
    const arrivals = placeArrivals(new Uint32Array([3000]), 'poisson', seededRng(4), new Scratch());
    expect(Math.abs(arrivals.length - 3000)).toBeLessThan(300);
    expect(arrivals.every((t) => t >= 0 && t < 60_000)).toBe(true);
  });
});

describe('bad input', () => {
  it('reports each bad row with its file and 1-based line, and loads the rest', async () => {
    const { trace, issues, stats } = await load({}, BAD);
    const where = issues.map((issue) => `${issue.file.split('/').at(-1)}:${issue.line}`);
    expect(where.sort()).toEqual(
      [
        'invocations_per_minute.csv:4',
        'invocations_per_minute.csv:8',
        'invocations_per_minute.csv:13',
        'durations_ms.csv:6',
        'durations_ms.csv:12',
        'memory_mb.csv:10',
      ].sort(),
    );
    const message = (line: number, file: string) =>
      issues.find((issue) => issue.line === line && issue.file.endsWith(file))?.message;
    expect(message(4, 'invocations_per_minute.csv')).toMatch(/minute_7 = 'abc' is not a number/);
    expect(message(8, 'invocations_per_minute.csv')).toMatch(/minute_100 = 1\.5, must be a whole number/);
    expect(message(13, 'invocations_per_minute.csv')).toMatch(/expected 1443 columns as in the header, found 1433/);
    expect(message(6, 'durations_ms.csv')).toMatch(/percentile_Average_50 = -49, must be non-negative/);
    expect(message(12, 'durations_ms.csv')).toMatch(/must be non-decreasing/);
    expect(message(10, 'memory_mb.csv')).toMatch(/expected 12 columns as in the header, found 11/);
    const good = await load();
    expect(trace.apps).toEqual([0, 1, 3, 5, 7, 9].map((row) => good.trace.apps[row]));
    expect(stats).toMatchObject({ rows: 12, apps: 6, skippedRows: 6 });
  });

  it('a missing file throws, naming the file and where to get it', async () => {
    const dir = await tempCopy((name, text) => (name === AZURE_FUNCTIONS_FILES.memory ? undefined : text));
    await expect(load({}, dir)).rejects.toThrow(
      /memory_mb\.csv: cannot read the file \(ENOENT\)\. Fix: put the Azure Functions 2019 trace files/,
    );
  });

  it('a bad header throws, naming the file and the expected columns', async () => {
    const dir = await tempCopy((name, text) =>
      name === AZURE_FUNCTIONS_FILES.durations ? text.replace('percentile_Average_50', 'p50') : text,
    );
    await expect(load({}, dir)).rejects.toThrow(
      /durations_ms\.csv: bad header: missing column\(s\) percentile_Average_50/,
    );
    const minutes = await tempCopy((name, text) =>
      name === AZURE_FUNCTIONS_FILES.invocations ? text.replace('minute_3,', 'minute_33,') : text,
    );
    await expect(load({}, minutes)).rejects.toThrow(
      /invocations_per_minute\.csv: bad header: column 6 is 'minute_33', expected minute_3/,
    );
  });

  it('a quote anywhere fails loudly with file and line (the splitter does not handle quoting)', async () => {
    const dir = await tempCopy((name, text) =>
      name === AZURE_FUNCTIONS_FILES.memory ? text.replace('f416753299', '"f416753299') : text,
    );
    await expect(load({}, dir)).rejects.toThrow(/memory_mb\.csv:10: contains a quote character/);
  });

  it('rows missing from one file are reported, extra rows too', async () => {
    const short = await tempCopy((name, text) =>
      name === AZURE_FUNCTIONS_FILES.memory ? text.split('\r\n').slice(0, 11).join('\r\n') : text,
    );
    const { issues, stats } = await load({}, short);
    expect(issues.map((issue) => issue.line)).toEqual([12, 13]);
    expect(issues[0]!.message).toMatch(/missing: the file has only 10 data rows/);
    expect(stats.apps).toBe(10);
    const long = await tempCopy((name, text) =>
      name === AZURE_FUNCTIONS_FILES.invocations ? text.split('\r\n').slice(0, 11).join('\r\n') : text,
    );
    const extra = await load({}, long);
    expect(extra.issues.map((issue) => `${issue.file.split('/').at(-1)}:${issue.line}`)).toEqual([
      'durations_ms.csv:12',
      'memory_mb.csv:12',
    ]);
  });
});

describe('the real Azure Functions 2019 sample in ../shared/traces', () => {
  it('loads 1,000 apps and 588,258 invocations fast, every minute count kept', async () => {
    expect(existsSync(REAL), `the real trace is missing: expected ${REAL} (shared/traces beside the repository)`).toBe(
      true,
    );
    const started = performance.now();
    const { trace, issues, stats } = await loadAzureFunctions(REAL, {
      arrivals: 'uniform',
      durations: 'sampled',
      seed: 1,
    });
    const elapsedMs = performance.now() - started;
    console.log(
      `full Azure Functions day: ${stats.invocations} invocations, ${trace.apps.length} apps in ${elapsedMs.toFixed(0)} ms`,
    );
    expect(issues).toEqual([]);
    expect(trace.apps).toHaveLength(1000);
    expect(trace.apps.reduce((sum, app) => sum + app.arrivalsMs.length, 0)).toBe(588_258);
    expect(stats).toMatchObject({ apps: 1000, invocations: 588_258, countedInvocations: 588_258, hashMismatches: 0 });
    expect(unsortedApps(trace.apps)).toEqual([]);
    const csv = await rowsOf(REAL, AZURE_FUNCTIONS_FILES.invocations);
    const wrongMinutes = trace.apps.filter((app, row) =>
      perMinute(app.arrivalsMs, 1440).some((n, minute) => n !== Number(csv[row]![minute + 3])),
    );
    expect(wrongMinutes).toEqual([]);
    // Budget well under 1 s on a 2-core machine; generous here so a busy CI run does not flake.
    expect(elapsedMs).toBeLessThan(3000);
  });
});

describe('loadAzureLlm', () => {
  it('parses TIMESTAMP to ms after the first request, in file order, with the token counts', async () => {
    const { requests, issues } = await loadAzureLlm(LLM);
    expect(issues).toEqual([]);
    expect(requests.arrivalsMs).toHaveLength(200);
    // 18:17:03.9799600 → 18:17:04.0319600 = 52 ms; → 18:17:04.0781490 = 98.189 ms; → 18:20:23.0695450 = 199 089.585 ms.
    expect(requests.arrivalsMs[0]).toBe(0);
    expect(requests.arrivalsMs[1]).toBeCloseTo(52, 6);
    expect(requests.arrivalsMs[2]).toBeCloseTo(98.189, 6);
    expect(requests.arrivalsMs[199]).toBeCloseTo(199_089.585, 6);
    expect(Array.from(requests.contextTokens.subarray(0, 3))).toEqual([4808, 3180, 110]);
    expect(Array.from(requests.generatedTokens.subarray(0, 3))).toEqual([10, 8, 27]);
    expect(requests.contextTokens).toBeInstanceOf(Uint32Array);
  });

  it('skips and reports bad rows with their line, keeps the rest', async () => {
    const lines = (await readFile(LLM, 'utf8')).split('\r\n').slice(0, 8);
    lines[2] = '2023-11-16 18:17:04,3180,8'; // no fraction: fine
    lines[3] = '2023-11-16 18:17:04.07,-110,27';
    lines[4] = '2023-02-30 18:17:04.1,1,1';
    lines[5] = '16/11/2023 18:17:04,1,1';
    lines[6] = '2023-11-16 18:17:04.2,1.5,1,9';
    const file = join(await tempDir(), 'code.csv');
    await writeFile(file, lines.join('\n'));
    const { requests, issues } = await loadAzureLlm(file);
    expect(issues.map((issue) => [issue.line, issue.message.split(';')[0]])).toEqual([
      [4, 'ContextTokens = -110, must be non-negative'],
      [5, "TIMESTAMP = '2023-02-30 18:17:04.1' is not a valid date and time"],
      [6, "TIMESTAMP = '16/11/2023 18:17:04', expected YYYY-MM-DD HH:MM:SS[.fraction]"],
      [7, 'expected 3 columns as in the header, found 4'],
    ]);
    // Kept: line 2 (03.9799600), line 3 (04, no fraction) and line 8 (04.6785310).
    expect(Array.from(requests.arrivalsMs)).toEqual([0, expect.closeTo(20.04, 6), expect.closeTo(698.571, 6)]);
    expect(Array.from(requests.contextTokens)).toEqual([4808, 3180, 6985]);
    await expect(loadAzureLlm(join(tmpdir(), 'no-such-dir', 'code.csv'))).rejects.toThrow(
      /code\.csv: cannot read the file \(ENOENT\)\. Fix:/,
    );
  });

  it('llmTrace builds one sorted app whose durations come from the tokens', () => {
    const requests = {
      arrivalsMs: new Float64Array([0, 50, 20]),
      contextTokens: new Uint32Array([100, 200, 300]),
      generatedTokens: new Uint32Array([1, 2, 3]),
    };
    const trace = llmTrace(requests, {
      memoryMb: 2048,
      durationMs: (context, generated) => context / 10 + generated * 20,
    });
    expect(trace.apps).toHaveLength(1);
    const app = trace.apps[0]!;
    expect([app.appId, app.ownerId, app.memoryMb]).toEqual(['llm', 'llm', 2048]);
    expect(Array.from(app.arrivalsMs)).toEqual([0, 20, 50]);
    expect(Array.from(app.durationsMs)).toEqual([30, 90, 60]);
    expect([trace.startMs, trace.endMs]).toEqual([0, 110]);
    expect(() => llmTrace(requests, { memoryMb: 1, durationMs: () => Number.NaN })).toThrow(
      /durationMs: returned NaN for request 0/,
    );
  });

  it('reads the real hour: 8,819 requests over 3,436 s', async () => {
    expect(existsSync(REAL_LLM), `the real LLM trace is missing: expected ${REAL_LLM}`).toBe(true);
    const { requests, issues } = await loadAzureLlm(REAL_LLM);
    expect(issues).toEqual([]);
    expect(requests.arrivalsMs).toHaveLength(8819);
    expect(requests.arrivalsMs.at(-1)).toBeCloseTo(3_435_948.056, 3);
    expect(requests.arrivalsMs.every((t, i) => i === 0 || t >= requests.arrivalsMs[i - 1]!)).toBe(true);
  });
});
