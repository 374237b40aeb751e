import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { detectLayout } from '../src/runtime/local/cgroup.js';

// End to end: the real `swarmlet` bin (built dist/) on the examples, as a user runs it.
const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', 'bin', 'swarmlet.js');
const swarmlet = (args: string[]) =>
  run(process.execPath, [bin, ...args], { cwd: join(import.meta.dirname, '..'), maxBuffer: 64 * 2 ** 20 });
const failing = (args: string[]) =>
  swarmlet(args).then(
    () => {
      throw new Error('expected a failure');
    },
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

const dataDir = mkdtempSync(join(tmpdir(), 'swarmlet-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('swarmlet run', () => {
  it('runs the file pipeline and prints a JSON summary with morphing actions and their reasons', async () => {
    // Many small files, then a few big ones: the bottleneck moves from hash to compress.
    for (let i = 0; i < 60; i++) writeFileSync(join(dataDir, `small-${i}.txt`), `file ${i}\n`.repeat(20));
    for (let i = 0; i < 4; i++)
      writeFileSync(join(dataDir, `big-${i}.txt`), `${'lorem ipsum dolor sit amet '.repeat(40_000)}${i}`);
    writeFileSync(join(dataDir, 'dup-a.txt'), 'same');
    writeFileSync(join(dataDir, 'dup-b.txt'), 'same');
    const { stdout } = await swarmlet([
      'run',
      'examples/file-pipeline',
      '--json',
      '--no-progress',
      '--no-history',
      '--set',
      `dir=${dataDir}`,
      '--set',
      'iterations=2000',
    ]);
    const summary = JSON.parse(stdout) as {
      job: string;
      microTasks: number;
      wallMs: number;
      throughputPerSec: number;
      coldStarts: number;
      taskTypes: { taskType: string; done: number; total: number; peakSwarmlets: number }[];
      actions: Record<string, { reason: string; count: number }[]>;
      output: { index: { files: number; duplicates: { groups: number } } };
    };
    expect(summary.job).toBe('file-pipeline');
    expect(summary.microTasks).toBe(66 * 2 + 1);
    expect(summary.taskTypes.map((t) => [t.taskType, t.done, t.total])).toEqual([
      ['hash', 66, 66],
      ['compress', 66, 66],
      ['index', 1, 1],
    ]);
    expect(summary.coldStarts).toBeGreaterThanOrEqual(3);
    expect(summary.output.index.files).toBe(66);
    expect(summary.output.index.duplicates.groups).toBeGreaterThanOrEqual(1);
    expect(summary.actions.replicate?.length).toBeGreaterThan(0);
    for (const list of Object.values(summary.actions))
      for (const item of list) expect(item.reason.length).toBeGreaterThan(10);
  });

  it('takes a priority and a deadline and reports the deadline met', async () => {
    const { stdout } = await swarmlet([
      'run',
      'examples/merge-sort',
      '--json',
      '--no-progress',
      '--no-history',
      '--set',
      'length=100000',
      '--priority',
      'high',
      '--deadline',
      '60s',
    ]);
    const summary = JSON.parse(stdout) as { jobs: { priority: string; deadlineMs: number; deadlineMet: boolean }[] };
    expect(summary.jobs).toEqual([
      expect.objectContaining({ priority: 'high', deadlineMs: 60_000, deadlineMet: true }),
    ]);
  });

  it('runs the recursive merge sort and prints a readable summary', async () => {
    const { stdout } = await swarmlet([
      'run',
      'examples/merge-sort',
      '--no-progress',
      '--set',
      'length=200000',
      '--set',
      'leaf=20000',
    ]);
    expect(stdout).toMatch(/^merge-sort: \d+ micro-tasks in [\d.]+ s/);
    expect(stdout).toContain('task type');
    expect(stdout).toContain('morphing actions');
    expect(stdout).toMatch(/"count":200000/);
    expect(stdout).toMatch(/"sorted":true/);
  });

  it.each([
    [['run', 'examples/nowhere'], /examples\/nowhere does not exist.*Fix:/],
    [['run', 'examples/merge-sort', '--set', 'length'], /--set: "length" is not key=value/],
    [['run', 'examples/merge-sort', '--set', 'length=-5'], /job merge-sort: --set length=-5/],
    [['run', 'examples/merge-sort', '--policy', 'fastest'], /--policy: unknown policy "fastest"/],
    [['run', 'examples/merge-sort', '--max-swarmlets', 'zero'], /--max-swarmlets: "zero" is not a positive integer/],
    [['run', 'examples/merge-sort', '--priority', 'urgent'], /--priority: "urgent" is not a priority class/],
    [['run', 'examples/merge-sort', '--deadline', 'soon'], /--deadline: "soon" is not a duration/],
  ])('rejects bad input %j with a clear one-line error and no stack', async (args, message) => {
    const failure = await failing(args);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(message);
    expect(failure.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('what tasks print', () => {
  it('goes to stderr with the swarmlet and micro-task it came from; stdout stays valid --json', async () => {
    const { stdout, stderr } = await swarmlet(['run', 'test/fixtures/printing-job', '--json', '--no-progress']);
    const summary = JSON.parse(stdout) as { output: Record<string, number> };
    expect(summary.output.p3).toBe(3);
    expect(stderr).toMatch(/^swarmlet s\d+: \[p3\] hello from 3$/m);
    expect(stderr).toMatch(/^swarmlet s\d+: \[p3\] two\nswarmlet s\d+: \[p3\] lines$/m);
  });

  it('at the top level of the job file or a task module goes to stderr, named by the module (it broke --json)', async () => {
    const { stdout, stderr } = await swarmlet(['run', 'test/fixtures/jobs/prints-at-top', '--json', '--no-progress']);
    expect((JSON.parse(stdout) as { output: number }).output).toBe(14);
    expect(stderr).toMatch(/^swarmlet job\.ts: job file says hi$/m);
    expect(stderr).toMatch(/^swarmlet top\.task\.ts: task module says hi\nswarmlet top\.task\.ts: and again$/m);
  });
});

describe('swarmlet run stopped by a signal', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)(
    '%s stops the swarm: its /dev/shm and cgroup directories go (they were left), exit %i',
    async (signal, code) => {
      const args = [bin, 'run', 'examples/merge-sort', '--set', 'length=10000000', '--no-history'];
      const child = spawn(process.execPath, args, { cwd: join(import.meta.dirname, '..'), stdio: 'pipe' });
      const shmDir = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `swarmlet-${child.pid}`);
      const layout = detectLayout();
      const cgroupDir = layout && join(layout.ownDir, `swarmlet-${child.pid}`);
      let stderr = '';
      let sent = false;
      // Each progress line is a moment to look: once the swarm's directory exists, the run is under way.
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!sent && existsSync(shmDir)) sent = child.kill(signal);
      });
      const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (exit) => resolve(exit)));
      expect(sent, stderr).toBe(true);
      expect(exitCode, stderr).toBe(code);
      expect(existsSync(shmDir)).toBe(false);
      if (cgroupDir) expect(existsSync(cgroupDir)).toBe(false);
    },
  );
});
