/**
 * Section 2: warm dispatch latency. Sequential single-task jobs `swarm.run({ type: 'noop', input: i })`
 * after warm-up vs Piscina one-in-flight `pool.run()` (and, for context, a bare fork round trip).
 */
import { Swarm } from '../src/swarm.js';
import { ForkPool, WORKERS, piscinaLatenciesUs, piscinaPool } from './baselines.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, log, now, percentile, settle } from './util.js';

const SECTION = 'latency';
const WARMUP = 3_000;
const SAMPLES = 10_000;

async function swarmletLatenciesUs(): Promise<{ latencies: number[]; swarmlets: number }> {
  const swarm = await Swarm.start({ tasks: [NOOP_TASK], maxSwarmlets: WORKERS, cacheDir: CACHE_DIR });
  try {
    for (let i = 0; i < WARMUP; i++) await swarm.run({ type: 'noop', input: i });
    const swarmlets = swarm.swarmlets().filter((s) => s.state !== 'stopped').length;
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const start = now();
      await swarm.run({ type: 'noop', input: i });
      latencies.push((now() - start) * 1000);
    }
    return { latencies, swarmlets };
  } finally {
    await swarm.stop();
  }
}

export async function runLatency(): Promise<SectionResult> {
  log(`latency: Swarmlet, ${SAMPLES} sequential single-task jobs after ${WARMUP} warm-up`);
  const swarmlet = await swarmletLatenciesUs();
  await settle();

  log('latency: Piscina, one in flight');
  const pool = piscinaPool();
  await piscinaLatenciesUs(pool, WARMUP);
  const piscina = await piscinaLatenciesUs(pool, SAMPLES);
  await pool.destroy();
  await settle();

  log('latency: bare fork, one message in flight');
  const forkPool = await ForkPool.start();
  await forkPool.latenciesUs(WARMUP);
  const forked = await forkPool.latenciesUs(SAMPLES);
  await forkPool.stop();

  const p = (values: readonly number[], q: number): number => percentile(values, q);
  const rows: Row[] = [
    {
      section: SECTION,
      metric: 'warm dispatch latency p50',
      unit: 'µs',
      swarmlet: p(swarmlet.latencies, 50),
      baseline: p(piscina, 50),
      baselineName: 'Piscina 1 in flight',
      ratio: p(swarmlet.latencies, 50) / p(piscina, 50),
      goal: 'lower',
      target: 1.5,
    },
    {
      section: SECTION,
      metric: 'warm dispatch latency p99',
      unit: 'µs',
      swarmlet: p(swarmlet.latencies, 99),
      baseline: p(piscina, 99),
      baselineName: 'Piscina 1 in flight',
      ratio: p(swarmlet.latencies, 99) / p(piscina, 99),
      goal: 'info',
    },
    {
      section: SECTION,
      metric: 'warm dispatch latency p50 vs bare fork',
      unit: 'µs',
      swarmlet: p(swarmlet.latencies, 50),
      baseline: p(forked, 50),
      baselineName: 'fork JSON IPC 1 in flight',
      ratio: p(swarmlet.latencies, 50) / p(forked, 50),
      goal: 'info',
    },
  ];
  const details: Detail[] = [
    {
      section: SECTION,
      name: 'Swarmlet p50 / p90 / p99 / max',
      value: p(swarmlet.latencies, 50),
      unit: 'µs',
      note: `${p(swarmlet.latencies, 90).toFixed(0)} / ${p(swarmlet.latencies, 99).toFixed(0)} / ${Math.max(...swarmlet.latencies).toFixed(0)} µs; ${swarmlet.swarmlets} swarmlets live`,
    },
    {
      section: SECTION,
      name: 'Piscina p50 / p90 / p99 / max',
      value: p(piscina, 50),
      unit: 'µs',
      note: `${p(piscina, 90).toFixed(0)} / ${p(piscina, 99).toFixed(0)} / ${Math.max(...piscina).toFixed(0)} µs`,
    },
    {
      section: SECTION,
      name: 'bare fork p50 / p90 / p99 / max',
      value: p(forked, 50),
      unit: 'µs',
      note: `${p(forked, 90).toFixed(0)} / ${p(forked, 99).toFixed(0)} / ${Math.max(...forked).toFixed(0)} µs`,
    },
  ];
  return { rows, details };
}
