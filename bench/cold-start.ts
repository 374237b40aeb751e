/**
 * Section 3: cold start. A swarmlet loading a (TypeScript, compiled) task module until it reports
 * ready (the provider's fork → `ready`, from `summary().taskTypes[].meanColdStartMs`) vs a bare
 * `node` fork of a tiny ESM child answering one IPC message. Interleaved, median of ROUNDS each.
 */
import { Swarm } from '../src/swarm.js';
import { bareForkColdStartMs } from './baselines.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, log, median, now, sleep } from './util.js';

const SECTION = 'cold-start';
const ROUNDS = 12;

interface SwarmCold {
  /** fork → ready, as the orchestrator records it. */
  readonly coldStartMs: number;
  /** Swarm.start (compile) → first result of a fresh swarm. */
  readonly startToFirstResultMs: number;
  /** run() → first result (cold start + dispatch). */
  readonly firstRunMs: number;
}

async function swarmColdStart(): Promise<SwarmCold> {
  const start = now();
  const swarm = await Swarm.start({
    tasks: [NOOP_TASK],
    maxSwarmlets: 1,
    policy: { static: { noop: 1 } },
    cacheDir: CACHE_DIR,
  });
  try {
    const runStart = now();
    await swarm.run({ type: 'noop', input: 0 });
    const end = now();
    const noop = swarm.summary().taskTypes.find((t) => t.taskType === 'noop');
    if (!noop || noop.coldStarts !== 1)
      throw new Error(`expected exactly one cold start, got ${noop?.coldStarts ?? 0}`);
    return { coldStartMs: noop.meanColdStartMs, startToFirstResultMs: end - start, firstRunMs: end - runStart };
  } finally {
    await swarm.stop();
  }
}

export async function runColdStart(): Promise<SectionResult> {
  log(`cold start: ${ROUNDS} rounds, Swarmlet and bare fork interleaved`);
  await bareForkColdStartMs(); // page cache warm for `node` itself
  await swarmColdStart(); // compile cache warm
  const swarm: SwarmCold[] = [];
  const bare: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await sleep(50);
    if (round % 2 === 0) {
      bare.push(await bareForkColdStartMs());
      await sleep(50);
      swarm.push(await swarmColdStart());
    } else {
      swarm.push(await swarmColdStart());
      await sleep(50);
      bare.push(await bareForkColdStartMs());
    }
  }
  const cold = median(swarm.map((s) => s.coldStartMs));
  const bareMs = median(bare);
  const firstRun = median(swarm.map((s) => s.firstRunMs));
  const rows: Row[] = [
    {
      section: SECTION,
      metric: 'cold start: fork → ready (TS task module)',
      unit: 'ms',
      swarmlet: cold,
      baseline: bareMs,
      baselineName: 'bare fork + 1 IPC reply',
      ratio: cold / bareMs,
      goal: 'lower',
      target: 1.2,
    },
    {
      section: SECTION,
      metric: 'cold start: fresh swarm run() → first result',
      unit: 'ms',
      swarmlet: firstRun,
      baseline: bareMs,
      baselineName: 'bare fork + 1 IPC reply',
      ratio: firstRun / bareMs,
      goal: 'info',
    },
  ];
  const details: Detail[] = [
    {
      section: SECTION,
      name: 'Swarmlet fork → ready',
      value: cold,
      unit: 'ms',
      note: `median of ${ROUNDS}; min ${Math.min(...swarm.map((s) => s.coldStartMs)).toFixed(1)}, max ${Math.max(...swarm.map((s) => s.coldStartMs)).toFixed(1)}`,
    },
    {
      section: SECTION,
      name: 'Swarmlet Swarm.start → first result',
      value: median(swarm.map((s) => s.startToFirstResultMs)),
      unit: 'ms',
      note: 'includes esbuild compile (cached output) and the first tick',
    },
    {
      section: SECTION,
      name: 'bare fork → reply',
      value: bareMs,
      unit: 'ms',
      note: `median of ${ROUNDS}; min ${Math.min(...bare).toFixed(1)}, max ${Math.max(...bare).toFixed(1)}`,
    },
  ];
  return { rows, details, extra: { swarmlet: swarm, bareFork: bare } };
}
