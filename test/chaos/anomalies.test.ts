import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { CHAOS_RUNS, chaosSize, report } from '../support/chaos.js';

// Issue 11, item 5: normal runs of every example report (almost) no anomalies — bigger inputs take
// longer and a busy machine stretches every task, neither is an anomaly. Real processes, the built CLI.
const execute = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'swarmlet.js');

/** Each example with options that keep the short form (one run each, inside `npm test`) small. */
const EXAMPLES = [
  {
    example: 'examples/file-pipeline',
    set: chaosSize(['limit=100', 'iterations=20000'], []),
  },
  {
    example: 'examples/merge-sort',
    set: [], // 2,000,000 numbers in leaves of 50,000: 190 micro-tasks in about 1.5 s
  },
];

/** The full form's last run of each example has both cores busy with this hog (two busy-looping processes). */
const HOG_SCRIPT = 'for(;;){}';
let hogs: ChildProcess[] = [];
afterEach(() => {
  for (const hog of hogs) hog.kill('SIGKILL');
  hogs = [];
});

interface RunSummary {
  readonly microTasks: number;
  readonly wallMs: number;
  readonly anomalies: readonly { readonly reason: string }[];
}

async function runExample(example: string, set: readonly string[]): Promise<RunSummary> {
  const args = [bin, 'run', example, '--json', '--no-progress', '--no-history', ...set.flatMap((s) => ['--set', s])];
  const { stdout } = await execute(process.execPath, args, { cwd: root, maxBuffer: 64 * 2 ** 20 });
  return JSON.parse(stdout) as RunSummary;
}

it.each(EXAMPLES)(
  '$example: anomalies ≤ 1 % of micro-tasks in normal runs (the last beside a CPU hog when full)',
  async ({ example, set }) => {
    for (let run = 1; run <= CHAOS_RUNS; run += 1) {
      const besideHog = CHAOS_RUNS > 1 && run === CHAOS_RUNS;
      if (besideHog) hogs = [0, 1].map(() => spawn(process.execPath, ['-e', HOG_SCRIPT], { stdio: 'ignore' }));
      const summary = await runExample(example, set);
      for (const hog of hogs) hog.kill('SIGKILL');
      hogs = [];
      const rate = summary.anomalies.length / summary.microTasks;
      report('anomalies', {
        example,
        run,
        besideHog,
        microTasks: summary.microTasks,
        anomalies: summary.anomalies.length,
        ratePercent: (100 * rate).toFixed(2),
        wallMs: Math.round(summary.wallMs),
      });
      expect(rate, summary.anomalies.map((a) => a.reason).join('\n')).toBeLessThanOrEqual(0.01);
    }
  },
  chaosSize(60_000, 600_000),
);
