import { execFile } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunArguments, runCommandSpec } from '../../src/cli/run-options.js';
import { InputError } from '../../src/core/errors.js';
import { Swarm } from '../../src/swarm.js';
import { chaosSize, report } from '../support/chaos.js';
import { applyCliFix, applyFix } from '../support/fixes.js';
import { jobSpec, runArguments, swarmOptions } from '../support/fuzz-arbitraries.js';

/**
 * R5 (issue 11): a seeded fuzzer of job specs (Swarm.run), Swarm options (Swarm.start) and `swarmlet run` arguments
 * (in-process through parseRunArguments, and a sample through the real CLI). Every rejection must be an InputError
 * (exit code 2 for the CLI, one line) naming the field with a fix; applying the fix must be accepted (or bring out a
 * problem of another field, whose fix is applied in turn); nothing may throw anything else, and nothing may hang.
 */
const SEED = 20_261_104;
const CALL_BOUND_MS = 20_000;
const MAX_REPAIRS = 60;

interface Tally {
  cases: number;
  accepted: number;
  rejected: number;
  repaired: number;
  raw: number;
  hangs: number;
  samples: string[];
}
const tally = (): Tally => ({ cases: 0, accepted: 0, rejected: 0, repaired: 0, raw: 0, hangs: 0, samples: [] });

const HANG = Symbol('hang');
/** Resolves with the call's outcome, or HANG once it has taken CALL_BOUND_MS (a watchdog, not timing logic). */
async function bounded<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown } | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<typeof HANG>((resolve) => (timer = setTimeout(() => resolve(HANG), CALL_BOUND_MS)));
  const outcome = call().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  try {
    return await Promise.race([outcome, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Submits `value`; while it is refused with an InputError, checks the message and applies the fix, until it is
 * accepted. A fix that does not take (or two that undo each other) never gets there: MAX_REPAIRS bounds the walk.
 * Counts raw exceptions and hangs.
 */
async function fuzzOne<T>(
  t: Tally,
  value: unknown,
  attempt: (value: unknown) => Promise<unknown>,
  fix: (value: unknown, error: InputError) => T,
): Promise<void> {
  t.cases += 1;
  let last = '';
  for (let step = 0; step <= MAX_REPAIRS; step++) {
    const outcome = await bounded(() => attempt(value));
    if (outcome === HANG) return void ((t.hangs += 1), t.samples.push(`hang: ${show(value)}`));
    if (!('error' in outcome)) {
      if (step === 0) t.accepted += 1;
      else t.repaired += 1;
      return;
    }
    const error = outcome.error;
    if (
      !(error instanceof InputError) ||
      !error.message.startsWith(`${error.field}: `) ||
      !/Fix: \S/.test(error.message)
    ) {
      t.raw += 1;
      t.samples.push(`${error instanceof Error ? error.stack : typeof error} ← ${show(value)}`);
      return;
    }
    if (step === 0) t.rejected += 1;
    last = error.message;
    value = fix(value, error);
  }
  t.samples.push(`no acceptance after ${MAX_REPAIRS} fixes: ${last} ← ${show(value)}`);
}

function show(value: unknown): string {
  try {
    return (JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value)).slice(
      0,
      200,
    );
  } catch {
    return String(value).slice(0, 200);
  }
}

function expectClean(name: string, t: Tally, extra: Record<string, number> = {}): void {
  report('R5', {
    part: name,
    cases: t.cases,
    accepted: t.accepted,
    rejected: t.rejected,
    repaired: t.repaired,
    raw: t.raw,
    hangs: t.hangs,
    ...extra,
  });
  expect(t.samples.slice(0, 10)).toEqual([]);
  expect(t.raw).toBe(0);
  expect(t.hangs).toBe(0);
  expect(t.repaired).toBe(t.rejected);
}

const noop = 'test/fixtures/noop.task.ts';

describe('R5: fuzzed input is refused clearly, never crashes or hangs, and every fix is accepted', () => {
  let swarm: Swarm;
  beforeAll(async () => {
    swarm = await Swarm.start({ tasks: [noop], maxSwarmlets: 2 });
  });
  afterAll(() => swarm.stop());

  it('job specs through Swarm.run', { timeout: chaosSize(60_000, 1_200_000) }, async () => {
    const t = tally();
    const startedMs = performance.now();
    for (const spec of fc.sample(jobSpec, { numRuns: chaosSize(1_000, 10_000), seed: SEED }))
      await fuzzOne(
        t,
        spec,
        (job) => swarm.run(job as never),
        (job, error) => applyFix(job, error, 'job'),
      );
    expectClean('Swarm.run', t, { ms: Math.round(performance.now() - startedMs) });
  });

  it('options through Swarm.start', { timeout: chaosSize(60_000, 1_200_000) }, async () => {
    const t = tally();
    const startedMs = performance.now();
    for (const options of fc.sample(swarmOptions, { numRuns: chaosSize(40, 400), seed: SEED })) {
      const start = async (value: unknown) => {
        const started = await Swarm.start({ ...(value as object), tasks: [noop] } as never);
        await started.stop();
      };
      await fuzzOne(t, options, start, (value, error) => applyFix(value, error, 'Swarm options'));
    }
    expectClean('Swarm.start', t, { ms: Math.round(performance.now() - startedMs) });
  });
});

const job = 'test/fixtures/jobs/two-types';
const takesValue = (flag: string) => runCommandSpec().options.some((option) => option.long === flag && option.required);

describe('R5: fuzzed swarmlet run arguments', () => {
  it('in-process, through parseRunArguments', { timeout: chaosSize(60_000, 600_000) }, async () => {
    const t = tally();
    let fixValues = 0;
    const startedMs = performance.now();
    for (const argv of fc.sample(runArguments(job), { numRuns: chaosSize(300, 1_000), seed: SEED })) {
      const fix = (value: unknown, error: InputError) => {
        // "pass a job directory (with job.ts) …": there is no job to name for the user; pass ours.
        if (error.field === 'job') return [job, ...(value as string[]).filter((arg) => arg !== 'examples/nowhere')];
        const fixed = applyCliFix(value as string[], error.message, takesValue);
        if (error.fixValue !== undefined) fixValues += 1;
        return fixed;
      };
      await fuzzOne(t, argv, (value) => parseRunArguments(value as string[]), fix);
    }
    expectClean('run arguments (in-process)', t, { fixValues, ms: Math.round(performance.now() - startedMs) });
  });

  it('through the real CLI (a sample)', { timeout: chaosSize(180_000, 1_800_000) }, async () => {
    const t = tally();
    let steps = 0;
    const startedMs = performance.now();
    const cases = fc.sample(runArguments(job), { numRuns: chaosSize(10, 100), seed: SEED + 1 });
    const next = async (argv: string[]) => {
      t.cases += 1;
      for (let step = 0; step <= 6; step++, steps++) {
        const outcome = await swarmlet(['run', ...argv, '--no-progress', '--cache-dir', '.swarmlet/fuzz-cache']);
        if (outcome.code === 0) return void (step === 0 ? (t.accepted += 1) : (t.repaired += 1));
        if (outcome.code === -1) return void ((t.hangs += 1), t.samples.push(`hang: ${argv.join(' ')}`));
        const line = outcome.stderr.trim();
        if (outcome.code !== 2 || line.includes('\n') || !/^swarmlet: \S.*?: .*Fix: (write|remove) /.test(line))
          return void ((t.raw += 1), t.samples.push(`exit ${outcome.code}: ${line.slice(0, 300)} ← ${argv.join(' ')}`));
        if (step === 0) t.rejected += 1;
        argv = applyCliFix(argv, line, takesValue);
      }
      t.samples.push(`no acceptance: ${argv.join(' ')}`);
    };
    const queue = cases.map((argv) =>
      argv[0] === job ? argv : [job, ...argv.filter((a) => a !== 'examples/nowhere')],
    );
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        for (let argv = queue.shift(); argv; argv = queue.shift()) await next(argv);
      }),
    );
    expectClean('run arguments (real CLI)', t, { spawns: steps, ms: Math.round(performance.now() - startedMs) });
  });
});

const bin = join(import.meta.dirname, '..', '..', 'bin', 'swarmlet.js');
function swarmlet(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const options = {
      cwd: join(import.meta.dirname, '..', '..'),
      timeout: CALL_BOUND_MS,
      killSignal: 'SIGKILL' as const,
    };
    execFile(process.execPath, [bin, ...args], options, (error, _stdout, stderr) => {
      const code = !error ? 0 : error.killed ? -1 : typeof error.code === 'number' ? error.code : -2;
      resolve({ code, stderr });
    });
  });
}
