/**
 * Section 1: no-op micro-tasks per second. Swarmlet (a DAG job of independent `noop` tasks on a
 * Swarm with maxSwarmlets 2, several jobs back to back) vs Piscina (2 threads; 1 and 64 in
 * flight) vs a bare fork pool (2 children, JSON IPC, batched).
 */
import type { JobInput } from '../src/core/job.js';
import { Swarm } from '../src/swarm.js';
import { ForkPool, WORKERS, piscinaPool, piscinaThroughput } from './baselines.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, fmt, log, median, now, settle } from './util.js';

const SECTION = 'throughput';
const TASKS_PER_JOB = 300_000;
const JOBS = 3;
const WARMUP_TASKS = 50_000;
const REPS = 3;

interface JobRun {
  readonly wallMs: number;
  readonly submitSyncMs: number;
  readonly throughput: number;
  /** From progress views during the run (excludes submit, ramp-up and tail); NaN if too few views. */
  readonly steadyThroughput: number;
  readonly views: number;
}

function noopDag(count: number): JobInput {
  const tasks: { id: string; type: string; input: number }[] = new Array(count);
  for (let i = 0; i < count; i++) tasks[i] = { id: `t${i}`, type: 'noop', input: i };
  return { tasks };
}

interface Sample {
  readonly atMs: number;
  readonly done: number;
}

function steadyRate(samples: readonly Sample[], doneBefore: number, count: number): number {
  const inside = samples.filter((s) => s.done > doneBefore && s.done < doneBefore + count);
  if (inside.length < 2) return Number.NaN;
  const first = inside[0]!;
  const last = inside[inside.length - 1]!;
  return last.atMs > first.atMs ? ((last.done - first.done) * 1000) / (last.atMs - first.atMs) : Number.NaN;
}

async function swarmletRuns(): Promise<{ runs: JobRun[]; swarmlets: number; tickMs: number }> {
  const tickMs = 100; // the default: progress views (the steady-state samples) come once per tick
  const swarm = await Swarm.start({ tasks: [NOOP_TASK], maxSwarmlets: WORKERS, cacheDir: CACHE_DIR, tickMs });
  const samples: Sample[] = [];
  swarm.onProgress((view) => {
    const noop = view.taskTypes.find((t) => t.taskType === 'noop');
    if (noop) samples.push({ atMs: view.atMs, done: noop.done });
  });
  try {
    await swarm.run(noopDag(WARMUP_TASKS));
    await swarm.run(noopDag(WARMUP_TASKS));
    const swarmlets = swarm.swarmlets().filter((s) => s.state !== 'stopped').length;
    const runs: JobRun[] = [];
    let doneBefore = 2 * WARMUP_TASKS;
    for (let j = 0; j < JOBS; j++) {
      const job = noopDag(TASKS_PER_JOB);
      await settle();
      samples.length = 0;
      const start = now();
      const result = swarm.run(job);
      const submitSyncMs = now() - start;
      await result;
      const wallMs = now() - start;
      const run = {
        wallMs,
        submitSyncMs,
        throughput: (TASKS_PER_JOB * 1000) / wallMs,
        steadyThroughput: steadyRate(samples, doneBefore, TASKS_PER_JOB),
        views: samples.length,
      };
      runs.push(run);
      doneBefore += TASKS_PER_JOB;
      log(
        `swarmlet job ${j + 1}/${JOBS}: ${fmt(run.throughput)}/s run→result (${run.wallMs.toFixed(0)} ms, submit ${submitSyncMs.toFixed(0)} ms sync), steady ${fmt(run.steadyThroughput)}/s from ${run.views} views`,
      );
    }
    return { runs, swarmlets, tickMs };
  } finally {
    await swarm.stop();
  }
}

export async function runThroughput(): Promise<SectionResult> {
  log(`throughput: Swarmlet, ${JOBS} jobs × ${TASKS_PER_JOB} no-op tasks, maxSwarmlets ${WORKERS}`);
  const swarmlet = await swarmletRuns();
  await settle();

  log('throughput: Piscina, 2 threads');
  const pool = piscinaPool();
  await piscinaThroughput(pool, 64, 50_000); // warm-up: threads up, JIT warm
  const oneInFlight: number[] = [];
  const pipelined: number[] = [];
  for (let r = 0; r < REPS; r++) {
    oneInFlight.push(await piscinaThroughput(pool, 1, 15_000));
    pipelined.push(await piscinaThroughput(pool, 64, 60_000));
  }
  await pool.destroy();
  const tunedPool = piscinaPool(16);
  await piscinaThroughput(tunedPool, 64, 50_000);
  const tuned: number[] = [];
  for (let r = 0; r < REPS; r++) tuned.push(await piscinaThroughput(tunedPool, 64, 60_000));
  await tunedPool.destroy();
  log(
    `piscina: 1 in flight ${oneInFlight.map((v) => fmt(v)).join(', ')}/s; 64 in flight ${pipelined.map((v) => fmt(v)).join(', ')}/s; 64 in flight ×16 per thread ${tuned.map((v) => fmt(v)).join(', ')}/s`,
  );
  await settle();

  log('throughput: bare fork pool, 2 children, JSON IPC, 512 tasks per message, 2 messages in flight per child');
  const forkPool = await ForkPool.start();
  await forkPool.throughput(50_000, 512, 2);
  const forked: number[] = [];
  for (let r = 0; r < REPS; r++) forked.push(await forkPool.throughput(TASKS_PER_JOB, 512, 2));
  await forkPool.stop();
  log(`fork pool: ${forked.map((v) => fmt(v)).join(', ')}/s`);

  const wall = median(swarmlet.runs.map((r) => r.throughput));
  const steady = median(swarmlet.runs.map((r) => r.steadyThroughput).filter(Number.isFinite));
  const excludingSubmit = median(swarmlet.runs.map((r) => (TASKS_PER_JOB * 1000) / (r.wallMs - r.submitSyncMs)));
  const piscina1 = median(oneInFlight);
  const piscina64 = median(pipelined);
  const piscinaTuned = median(tuned);
  // "Piscina's best" as the target defines it: the better of its default pool at 1 and at 64 in flight.
  const piscinaBest = Math.max(piscina1, piscina64);
  const piscinaBestName = piscina64 >= piscina1 ? 'Piscina 64 in flight' : 'Piscina 1 in flight';
  const fork = median(forked);

  const rows: Row[] = [
    {
      section: SECTION,
      metric: `no-op tasks/s, run→result (${fmt(TASKS_PER_JOB)} DAG)`,
      unit: '/s',
      swarmlet: wall,
      baseline: piscinaBest,
      baselineName: piscinaBestName,
      ratio: wall / piscinaBest,
      goal: 'higher',
      target: 5,
    },
    {
      section: SECTION,
      metric: 'no-op tasks/s, steady state (progress-sampled)',
      unit: '/s',
      swarmlet: steady,
      baseline: piscinaBest,
      baselineName: piscinaBestName,
      ratio: steady / piscinaBest,
      goal: 'higher',
      target: 5,
    },
    {
      section: SECTION,
      metric: 'no-op tasks/s, steady state vs tuned Piscina',
      unit: '/s',
      swarmlet: steady,
      baseline: piscinaTuned,
      baselineName: 'Piscina 64 in flight, 16/thread',
      ratio: steady / piscinaTuned,
      goal: 'info',
    },
    {
      section: SECTION,
      metric: 'no-op tasks/s, run→result vs bare fork pool',
      unit: '/s',
      swarmlet: wall,
      baseline: fork,
      baselineName: 'fork pool, 512/msg',
      ratio: wall / fork,
      goal: 'info',
    },
  ];
  const details: Detail[] = [
    {
      section: SECTION,
      name: 'Swarmlet run→result (median of jobs)',
      value: wall,
      unit: '/s',
      note: `${JOBS} jobs of ${TASKS_PER_JOB}, ${swarmlet.swarmlets} swarmlets warm`,
    },
    {
      section: SECTION,
      name: 'Swarmlet excluding sync submit (parse+DAG)',
      value: excludingSubmit,
      unit: '/s',
      note: `submit ${median(swarmlet.runs.map((r) => r.submitSyncMs)).toFixed(0)} ms of ${median(swarmlet.runs.map((r) => r.wallMs)).toFixed(0)} ms`,
    },
    {
      section: SECTION,
      name: 'Swarmlet steady state',
      value: steady,
      unit: '/s',
      note: `done-count slope between progress views (tickMs ${swarmlet.tickMs})`,
    },
    { section: SECTION, name: 'Piscina 1 in flight', value: piscina1, unit: '/s', note: `median of ${REPS}` },
    { section: SECTION, name: 'Piscina 64 in flight', value: piscina64, unit: '/s', note: `median of ${REPS}` },
    {
      section: SECTION,
      name: 'Piscina 64 in flight, concurrentTasksPerWorker 16',
      value: piscinaTuned,
      unit: '/s',
      note: `median of ${REPS}; tuned, not part of "Piscina's best"`,
    },
    {
      section: SECTION,
      name: 'fork pool batched (512/msg, 2 in flight/child)',
      value: fork,
      unit: '/s',
      note: `median of ${REPS}`,
    },
  ];
  return {
    rows,
    details,
    extra: {
      swarmletRuns: swarmlet.runs,
      piscinaOneInFlight: oneInFlight,
      piscina64InFlight: pipelined,
      piscina64InFlight16PerThread: tuned,
      forkPool: forked,
    },
  };
}
