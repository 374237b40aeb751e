/**
 * Section 6: what a sandbox costs. Cold start (fork → ready of a compiled TS task module, as in section 3) and warm
 * dispatch latency (sequential single-task jobs) of swarmlets under `--sandbox bwrap` and `process`, each against no
 * sandbox, interleaved round by round in the same run, medians.
 */
import { Swarm } from '../src/swarm.js';
import { bwrapAvailable, type SandboxKind } from '../src/runtime/local/sandbox.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, fmt, log, median, now, percentile, sleep } from './util.js';

const SECTION = 'sandbox';
const ROUNDS = 12;
const WARMUP = 500;
const SAMPLES = 2_000;
const LATENCY_ROUNDS = 3;

function startSwarm(sandbox: SandboxKind): Promise<Swarm> {
  return Swarm.start({
    tasks: [NOOP_TASK],
    maxSwarmlets: 1,
    policy: { static: { noop: 1 } },
    cacheDir: CACHE_DIR,
    sandbox,
  });
}

async function coldStartMs(sandbox: SandboxKind): Promise<number> {
  const swarm = await startSwarm(sandbox);
  try {
    await swarm.run({ type: 'noop', input: 0 });
    const noop = swarm.summary().taskTypes.find((t) => t.taskType === 'noop');
    if (!noop || noop.coldStarts !== 1) throw new Error(`expected one cold start, got ${noop?.coldStarts ?? 0}`);
    return noop.meanColdStartMs;
  } finally {
    await swarm.stop();
  }
}

/** Round-trip times (µs) of sequential single-task jobs on one warm swarmlet. */
async function latenciesUs(sandbox: SandboxKind): Promise<number[]> {
  const swarm = await startSwarm(sandbox);
  try {
    for (let i = 0; i < WARMUP; i++) await swarm.run({ type: 'noop', input: i });
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const start = now();
      await swarm.run({ type: 'noop', input: i });
      latencies.push((now() - start) * 1000);
    }
    return latencies;
  } finally {
    await swarm.stop();
  }
}

export async function runSandbox(): Promise<SectionResult> {
  const kinds: SandboxKind[] = ['none', 'process', ...(bwrapAvailable() ? (['bwrap'] as const) : [])];
  log(`sandbox: cold start, ${ROUNDS} rounds of ${kinds.join(', ')} interleaved`);
  const cold = new Map<SandboxKind, number[]>(kinds.map((kind) => [kind, []]));
  for (const kind of kinds) await coldStartMs(kind); // page cache and compile cache warm
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      await sleep(50);
      cold.get(kind)!.push(await coldStartMs(kind));
    }
  }
  log(`sandbox: warm latency, ${LATENCY_ROUNDS} rounds of ${SAMPLES} jobs each`);
  const warm = new Map<SandboxKind, number[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) warm.get(kind)!.push(...(await latenciesUs(kind)));
  }
  const bare = median(cold.get('none')!);
  const bareP50 = percentile(warm.get('none')!, 50);
  const rows: Row[] = kinds
    .filter((kind) => kind !== 'none')
    .flatMap((kind) => [
      {
        section: SECTION,
        metric: `cold start: fork → ready, --sandbox ${kind}`,
        unit: 'ms',
        swarmlet: median(cold.get(kind)!),
        baseline: bare,
        baselineName: 'the same, --sandbox none',
        ratio: median(cold.get(kind)!) / bare,
        goal: 'lower',
        target: 1.3,
      } satisfies Row,
      {
        section: SECTION,
        metric: `warm dispatch p50, --sandbox ${kind}`,
        unit: 'µs',
        swarmlet: percentile(warm.get(kind)!, 50),
        baseline: bareP50,
        baselineName: 'the same, --sandbox none',
        ratio: percentile(warm.get(kind)!, 50) / bareP50,
        goal: 'lower',
        target: 1.1,
      } satisfies Row,
    ]);
  const details: Detail[] = kinds.map((kind) => ({
    section: SECTION,
    name: `--sandbox ${kind}`,
    value: median(cold.get(kind)!),
    unit: 'ms',
    note: `cold start median of ${ROUNDS} (min ${fmt(Math.min(...cold.get(kind)!))}); warm p50 ${fmt(percentile(warm.get(kind)!, 50))} µs, p99 ${fmt(percentile(warm.get(kind)!, 99))} µs`,
  }));
  return { rows, details };
}
