import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, swarmlet, failing } from './support/swarmlet-cli.js';
import { adaptiveWarmPolicy } from '../src/decide/warm/adaptive-warm.js';
import { warmPolicyByName } from '../src/decide/warm/registry.js';
import { runSimulation, type PolicyEntry, type SimOptions } from '../src/sim/run-sim.js';
import type { ArrivalPattern } from '../src/sim/trace.js';
import { loadAzureFunctions } from '../src/sim/traces/azure-functions.js';
import { withoutTimings } from './support/sim-traces.js';

const FIXTURE = 'test/fixtures/traces/azure-functions-2019';
const BASELINES = [
  'hybrid-histogram',
  'keepalive-10m',
  'keepalive-20m',
  'never-unload',
  'hpa',
  'kpa',
  'openwhisk',
  'oracle',
];
const ALL_NAMES = ['adaptive', ...BASELINES];

const POLICIES: PolicyEntry[] = [
  { label: 'adaptive', make: () => adaptiveWarmPolicy() },
  { label: 'adaptive λ=3600s', family: 'adaptive', make: () => adaptiveWarmPolicy({ coldPriceS: 3600 }) },
  ...BASELINES.map((name) => ({ label: name, make: () => warmPolicyByName(name) })),
];

function options(seeds: number[], arrivals: ArrivalPattern, durations: 'average' | 'sampled' = 'average'): SimOptions {
  return {
    seeds,
    coldStartMs: 0,
    check: true,
    traceFor: async (seed) => (await loadAzureFunctions(resolve(ROOT, FIXTURE), { arrivals, durations, seed })).trace,
  };
}

describe('runSimulation is deterministic', () => {
  it.each<ArrivalPattern>(['poisson', 'uniform'])(
    'same seeds, %s arrivals → deep-equal results (timings aside)',
    async (arrivals) => {
      const first = await runSimulation(POLICIES, options([1, 2], arrivals, 'sampled'));
      const second = await runSimulation(POLICIES, options([1, 2], arrivals, 'sampled'));
      expect(first.results).toHaveLength(POLICIES.length * 2);
      expect(withoutTimings(second.results)).toEqual(withoutTimings(first.results));
      expect(second.invocationsPerSeed).toEqual(first.invocationsPerSeed);
      expect(first.results.map((r) => [r.policy, r.seed])).toEqual(
        [1, 2].flatMap((seed) => POLICIES.map((p) => [p.label, seed])),
      );
    },
  );

  it('different seeds with uniform arrivals give different results (the seed reaches the trace)', async () => {
    const { results } = await runSimulation(POLICIES, options([1, 2], 'uniform'));
    const bySeed = (seed: number) =>
      withoutTimings(results.filter((r) => r.seed === seed)).map(({ seed: _seed, ...rest }) => rest);
    expect(bySeed(2)).not.toEqual(bySeed(1));
    // Uniform keeps every minute's count, so the invocations match; their placement does not.
    const kpa = (seed: number) => results.find((r) => r.policy === 'kpa' && r.seed === seed)!;
    expect(kpa(1).calls).toBe(kpa(2).calls);
    expect(kpa(1).wastedGbSeconds).not.toBe(kpa(2).wastedGbSeconds);
  });

  it('even arrivals with average durations use no randomness: every seed gives the same numbers', async () => {
    const { results } = await runSimulation(POLICIES, options([3, 11], 'even'));
    const bySeed = (seed: number) =>
      withoutTimings(results.filter((r) => r.seed === seed)).map(({ seed: _seed, ...rest }) => rest);
    expect(bySeed(11)).toEqual(bySeed(3));
  });

  it('reports progress once per policy and seed', async () => {
    const seen: [number, number, string][] = [];
    await runSimulation(POLICIES.slice(0, 3), {
      ...options([1, 2], 'uniform'),
      onProgress: (done, total, label) => seen.push([done, total, label]),
    });
    expect(seen.map(([done, total]) => `${done}/${total}`)).toEqual(['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']);
    expect(seen.map(([, , label]) => label).slice(0, 3)).toEqual(POLICIES.slice(0, 3).map((p) => p.label));
  });
});

// End to end: the built bin (the test command runs `npm run build` first).

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmlet-sim-'));
  tempDirs.push(dir);
  return dir;
}

describe('swarmlet sim (end to end)', () => {
  it('two runs with the same seeds write byte-identical reports and print every policy', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const args = (out: string) => [
      'sim',
      '--trace',
      FIXTURE,
      '--seeds',
      '2',
      '--arrivals',
      'uniform',
      '--out',
      out,
      '--no-progress',
    ];
    const first = await swarmlet(args(a));
    await swarmlet(args(b));
    for (const file of ['report.json', 'results.csv', 'pareto.svg']) {
      expect(await readFile(join(b, file), 'utf8'), file).toBe(await readFile(join(a, file), 'utf8'));
    }
    const svg = await readFile(join(a, 'pareto.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);

    expect(first.stdout).toMatch(/^seeds 1, 2 · \d+ invocations per seed · arrivals uniform · durations average\n/);
    const tableRows = first.stdout
      .split('\n')
      .filter((line) => line.startsWith('| '))
      .map((line) => line.split('|')[1]!.trim());
    for (const name of ALL_NAMES) expect(tableRows, name).toContain(name);
    expect(tableRows.filter((name) => name.startsWith('adaptive λ='))).toEqual(
      [600, 1800, 3600, 7200, 14400, 28800, 57600, 115200].map((price) => `adaptive λ=${price}s`),
    ); // the default sweep

    const report = JSON.parse(await readFile(join(a, 'report.json'), 'utf8')) as {
      seeds: number[];
      baseline: string;
      rows: { policy: string; seeds: number; wastedPercentOfBaseline: { mean: number } }[];
    };
    expect(report.seeds).toEqual([1, 2]);
    expect(report.baseline).toBe('keepalive-10m');
    expect(report.rows.find((r) => r.policy === 'keepalive-10m')!.wastedPercentOfBaseline.mean).toBe(100);
    expect(report.rows.find((r) => r.policy === 'oracle')!.wastedPercentOfBaseline.mean).toBe(0);
    for (const row of report.rows) expect(row.seeds).toBe(2);
    expect(JSON.stringify(report)).not.toMatch(/invocationsPerSecond|replayMs/);

    const csv = (await readFile(join(a, 'results.csv'), 'utf8')).trimEnd().split('\n');
    expect(csv).toHaveLength(1 + 2 * report.rows.length);
  });

  it('--json prints the same report it writes; --seeds as a list is honoured', async () => {
    const out = await tempDir();
    const { stdout } = await swarmlet([
      'sim',
      '--trace',
      FIXTURE,
      '--seeds',
      '7,9',
      '--policy',
      'oracle,never-unload',
      '--out',
      out,
      '--no-progress',
      '--json',
    ]);
    expect(stdout).toBe(await readFile(join(out, 'report.json'), 'utf8'));
    const report = JSON.parse(stdout) as { seeds: number[]; rows: { policy: string }[] };
    expect(report.seeds).toEqual([7, 9]);
    // the baseline is always added
    expect(report.rows.map((r) => r.policy)).toEqual(['oracle', 'never-unload', 'keepalive-10m']);
  });

  it('--policy …,orchestrator adds the trace replayed through the real orchestrator, byte-identical run to run', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const args = (out: string) => [
      'sim',
      '--trace',
      FIXTURE,
      '--hours',
      '8-9',
      '--seeds',
      '1',
      '--policy',
      'keepalive-10m,hybrid-histogram,orchestrator',
      '--cold-start-ms',
      '80',
      '--out',
      out,
      '--no-progress',
    ];
    const first = await swarmlet(args(a));
    await swarmlet(args(b));
    for (const file of ['report.json', 'results.csv', 'pareto.svg'])
      expect(await readFile(join(b, file), 'utf8'), file).toBe(await readFile(join(a, file), 'utf8'));
    const tableRows = first.stdout.split('\n').filter((line) => line.startsWith('| orchestrator '));
    expect(tableRows).toHaveLength(1);
    expect(first.stdout).toMatch(
      /orchestrator, seed 1: \d+ swarmlet starts, at most \d+ swarmlets at once \(limit \d+, never reached\)/,
    );
    const report = JSON.parse(await readFile(join(a, 'report.json'), 'utf8')) as {
      rows: { policy: string }[];
      orchestrator: { policy: string; seed: number; poolLimit: number; ticks: number; actions: object }[];
    };
    expect(report.rows.map((row) => row.policy)).toEqual(['keepalive-10m', 'hybrid-histogram', 'orchestrator']);
    expect(report.orchestrator).toEqual([expect.objectContaining({ policy: 'orchestrator', seed: 1 })]);
    expect(report.orchestrator[0]!.ticks).toBeGreaterThanOrEqual(36_000);
    expect(JSON.stringify(report)).not.toMatch(/wallMs|replayMs/);
  });

  it.each([
    [['--policy', 'nope,orchestrator'], /policy: unknown warm policy "nope".*oracle, orchestrator/],
    [['--arrivals', 'sometimes'], /--arrivals: "sometimes" is not one of even, uniform, poisson/],
    [['--hours', '5-3'], /--hours: "5-3" is not a range/],
    [['--policy', 'nope'], /policy: unknown warm policy "nope"/],
    [['--policy', 'oracle,keepalive-xm'], /policy: unknown warm policy "keepalive-xm"/],
    [['--seeds', '0'], /--seeds: "0" is not a positive whole number/],
    [['--cold-price', '-5'], /--cold-price: "-5" is not a positive number/],
    [['--sweep', '100,abc'], /--sweep: "abc" is not a positive number/],
    [['--durations', 'median'], /--durations: "median" is not one of average, sampled/],
    [['--trace', 'test/fixtures/traces/nowhere'], /nowhere\/invocations_per_minute\.csv: cannot read the file.*Fix:/],
  ])('rejects %j: exit 2, one line naming the flag, no stack, nothing written', async (extra, message) => {
    const out = join(await tempDir(), 'out');
    const failure = await failing(['sim', '--trace', FIXTURE, '--out', out, '--no-progress', ...extra]);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(message);
    expect(failure.stderr).toMatch(/^swarmlet: [^\n]+\n$/);
    expect(failure.stderr).not.toMatch(/\n\s+at /);
    expect(failure.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
});
