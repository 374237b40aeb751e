import { afterAll, beforeAll, expect, it } from 'vitest';
import { Swarm } from '../../src/swarm.js';
import { CHAOS_FULL, CHAOS_RUNS, chaosSize, report } from '../support/chaos.js';

// Scale: a recursive split/join job grows near-linearly. The tree fixture halves a range down to single leaves, so a
// job of L leaves is 3L − 2 micro-tasks (a split or a run per node, a join per inner node) and outputs L. Both sizes
// are timed in the same run, on the same warm Swarm, so the ratio does not depend on the machine.
const [SMALL_MICRO_TASKS, LARGE_MICRO_TASKS] = chaosSize([20_000, 100_000], [100_000, 1_000_000]);
const MAX_RATIO = 2;
const TARGET_LARGE_MS = 30_000;
const RSS_SAMPLE_MS = 20;

const leavesFor = (microTasks: number): number => Math.round((microTasks + 2) / 3);
const microTasksOf = (leaves: number): number => 3 * leaves - 2;

interface Measure {
  readonly microTasks: number;
  readonly wallMs: number;
  readonly usPerMicroTask: number;
  readonly peakRssMb: number;
  /** Peak RSS above the RSS before the job, per micro-task. */
  readonly bytesPerMicroTask: number;
}

let swarm: Swarm;
beforeAll(async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/tree.task.ts'], maxSwarmlets: 2 });
  await runTree(leavesFor(SMALL_MICRO_TASKS)); // warm: swarmlets started, code compiled, usage learned
});
afterAll(() => swarm?.stop());

async function runTree(leaves: number): Promise<Measure> {
  const rssBefore = process.memoryUsage.rss();
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  const startMs = performance.now();
  try {
    // Every leaf counts 1 up the joins: the output proves each ran once.
    expect(await swarm.run({ type: 'tree', input: { from: 0, to: leaves } })).toBe(leaves);
  } finally {
    clearInterval(sampler);
  }
  const wallMs = performance.now() - startMs;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  const microTasks = microTasksOf(leaves);
  return {
    microTasks,
    wallMs,
    usPerMicroTask: (wallMs * 1000) / microTasks,
    peakRssMb: peakRss / 2 ** 20,
    bytesPerMicroTask: (peakRss - rssBefore) / microTasks,
  };
}

it(
  `a recursive split/join of ${LARGE_MICRO_TASKS} micro-tasks costs at most ${MAX_RATIO}× per micro-task what ${SMALL_MICRO_TASKS} cost`,
  async () => {
    for (let run = 1; run <= CHAOS_RUNS; run++) {
      const small = await runTree(leavesFor(SMALL_MICRO_TASKS));
      const large = await runTree(leavesFor(LARGE_MICRO_TASKS));
      const ratio = large.usPerMicroTask / small.usPerMicroTask;
      report('scale', {
        run,
        smallMicroTasks: small.microTasks,
        smallMs: Math.round(small.wallMs),
        smallUsPerMicroTask: small.usPerMicroTask.toFixed(2),
        largeMicroTasks: large.microTasks,
        largeMs: Math.round(large.wallMs),
        largeUsPerMicroTask: large.usPerMicroTask.toFixed(2),
        ratio: ratio.toFixed(2),
        peakRssMb: Math.round(large.peakRssMb),
        peakRssBytesPerMicroTask: Math.round((large.peakRssMb * 2 ** 20) / large.microTasks),
        rssGrowthBytesPerMicroTask: Math.round(large.bytesPerMicroTask),
        ...(CHAOS_FULL ? { largeWithin30s: large.wallMs <= TARGET_LARGE_MS } : {}),
      });
      expect(ratio).toBeLessThanOrEqual(MAX_RATIO);
    }
  },
  chaosSize(120_000, 1_800_000),
);

// Many jobs at once: each ended job is settled once, however many others are still pending.
const [FEW_JOBS, MANY_JOBS] = chaosSize([6_000, 60_000], [20_000, 200_000]);

async function runConcurrentJobs(count: number): Promise<number> {
  const startMs = performance.now();
  const outputs = await Promise.all(
    Array.from({ length: count }, () => swarm.run({ type: 'tree', input: { from: 0, to: 1 } })),
  );
  expect(outputs.every((output) => output === 1)).toBe(true);
  return ((performance.now() - startMs) * 1000) / count;
}

it(
  `${MANY_JOBS} concurrent one-task jobs cost at most ${MAX_RATIO}× per job what ${FEW_JOBS} cost`,
  async () => {
    for (let run = 1; run <= CHAOS_RUNS; run++) {
      const fewUsPerJob = await runConcurrentJobs(FEW_JOBS);
      const manyUsPerJob = await runConcurrentJobs(MANY_JOBS);
      const ratio = manyUsPerJob / fewUsPerJob;
      report('scale-jobs', {
        run,
        fewJobs: FEW_JOBS,
        fewUsPerJob: fewUsPerJob.toFixed(1),
        manyJobs: MANY_JOBS,
        manyUsPerJob: manyUsPerJob.toFixed(1),
        ratio: ratio.toFixed(2),
      });
      expect(ratio).toBeLessThanOrEqual(MAX_RATIO);
    }
  },
  chaosSize(120_000, 1_800_000),
);
