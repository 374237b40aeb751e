import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { parseRunArguments } from '../src/cli/run-options.js';

// `swarmlet run --workflow`: a recorded workflow run for real, each micro-task burning CPU for its scaled runtime, and
// the simulator's makespan for the same run beside it.
const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'swarmlet.js');
const FIXTURE = 'test/fixtures/wfcommons/1000genome-chameleon-2ch-100k-001-cut.json';

async function refusal(argv: string[]): Promise<InputError> {
  const error = await parseRunArguments(argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('swarmlet run --workflow', () => {
  it('runs the workflow as a job and says what the simulator predicts for it', async () => {
    const { stdout } = await run(
      process.execPath,
      [bin, 'run', '--workflow', FIXTURE, '--time-scale', '0.0005', '--json', '--no-progress'],
      { cwd: join(import.meta.dirname, '..'), maxBuffer: 64 * 2 ** 20 },
    );
    const result = JSON.parse(stdout) as {
      job: string;
      microTasks: number;
      simulated: { realMs: number; simulatedMs: number; ratio: number };
      taskTypes: { taskType: string }[];
    };
    expect(result.job).toBe('workflow 1000genome-chameleon-2ch-100k-001-cut');
    expect(result.taskTypes.map((t) => t.taskType).sort()).toEqual(
      ['frequency', 'individuals', 'individuals_merge', 'mutation_overlap', 'sifting'].sort(),
    );
    expect(result.simulated.simulatedMs).toBeGreaterThan(0);
    expect(result.simulated.ratio).toBeCloseTo(result.simulated.realMs / result.simulated.simulatedMs, 6);
  });

  const W = ['--workflow', FIXTURE];
  it.each([
    { argv: ['examples/merge-sort', ...W], field: 'argument "examples/merge-sort"', fixed: W },
    { argv: [...W, '--time-scale', '0'], field: '--time-scale', fixed: [...W, '--time-scale', '0.01'] },
    { argv: [...W, '--memory-scale', 'lots'], field: '--memory-scale', fixed: [...W, '--memory-scale', '0.05'] },
    { argv: [...W, '--redis', 'redis://127.0.0.1:1'], field: '--workflow', fixed: W },
    { argv: [], field: 'job', fixed: ['examples/file-pipeline'] },
  ])('refuses $argv naming $field; the fix is accepted', async ({ argv, field, fixed }) => {
    const error = await refusal(argv);
    expect(error.field).toBe(field);
    expect(error.message).toContain('Fix:');
    if (error.fixValue !== undefined && error.fixValue !== 'remove')
      expect(fixed).toContain(String(error.fixValue.value));
    await expect(parseRunArguments(fixed)).resolves.toBeDefined();
  });
});
