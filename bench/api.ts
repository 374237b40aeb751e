/**
 * Section api: what the HTTP API costs the run. (a) No-op throughput of an embedded swarm serving the API with a live
 * event stream open and /metrics scraped every second, against the same swarm without http, runs interleaved.
 * (b) /metrics answer time over HTTP for a swarm of 1,000 swarmlets and 100 task types (a fake Operations).
 * (c) The same overhead for a cluster's director (api-cluster.ts). (d) /metrics and /api/status answer times of a
 * director holding 1,000 nodes (api-big-cluster.ts).
 */
import { prometheusMetrics } from '../src/api/metrics.js';
import { startApiServer } from '../src/api/server.js';
import type { JobInput } from '../src/core/job.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { Swarm } from '../src/swarm.js';
import { fakeOperations, type FakeSwarm } from '../test/support/fake-operations.js';
import { clients } from './api-clients.js';
import { bigClusterAnswers } from './api-big-cluster.js';
import { clusterApiOverhead } from './api-cluster.js';
import { WORKERS } from './baselines.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, NOOP_TASK, fmt, log, median, now, percentile, settle } from './util.js';

const SECTION = 'api';
const TASKS_PER_RUN = 200_000;
const WARMUP_TASKS = 50_000;
const PAIRS = 5;
const SCRAPE_EVERY_MS = 1_000;
const SCRAPES = 200;

function noopDag(count: number): JobInput {
  const tasks: { id: string; type: string; input: number }[] = new Array(count);
  for (let i = 0; i < count; i++) tasks[i] = { id: `t${i}`, type: 'noop', input: i };
  return { tasks };
}

/** One run on a fresh swarm: warm-up job, then the measured one; micro-tasks per second of the measured job. */
async function run(served: boolean): Promise<{ throughput: number; cpuMs: number; events: number; scrapes: number }> {
  const swarm = await Swarm.start({
    tasks: [NOOP_TASK],
    maxSwarmlets: WORKERS,
    cacheDir: CACHE_DIR,
    ...(served && { http: { port: 0 } }),
  });
  const watching = served ? await clients(swarm.http!.url, { scrapeEveryMs: SCRAPE_EVERY_MS }) : undefined;
  try {
    await swarm.run(noopDag(WARMUP_TASKS));
    const job = noopDag(TASKS_PER_RUN);
    await settle();
    const start = now();
    const cpu = process.cpuUsage();
    await swarm.run(job);
    const throughput = (TASKS_PER_RUN * 1000) / (now() - start);
    const { user, system } = process.cpuUsage(cpu);
    const seen = (await watching?.stop()) ?? { events: 0, scrapes: 0 };
    return { throughput, cpuMs: (user + system) / 1000, ...seen };
  } finally {
    await watching?.stop();
    await swarm.stop();
  }
}

interface Overhead {
  readonly served: number[];
  readonly bare: number[];
  /** Per pair, without ÷ with: drift in the machine's speed between pairs cancels out. */
  readonly slowdowns: number[];
  /** The orchestrator process's CPU ms during the measured job (the swarmlets' own are not in it). */
  readonly servedCpuMs: number[];
  readonly bareCpuMs: number[];
  readonly events: number;
  readonly scrapes: number;
}

async function overhead(): Promise<Overhead> {
  const o: Overhead = { served: [], bare: [], slowdowns: [], servedCpuMs: [], bareCpuMs: [], events: 0, scrapes: 0 };
  let { events, scrapes } = o;
  for (let pair = 0; pair < PAIRS; pair++) {
    // Alternate which goes first: drift in the machine's speed falls on both alike.
    const pairRuns = new Map<boolean, number>();
    for (const withApi of pair % 2 === 0 ? [true, false] : [false, true]) {
      const result = await run(withApi);
      pairRuns.set(withApi, result.throughput);
      (withApi ? o.served : o.bare).push(result.throughput);
      (withApi ? o.servedCpuMs : o.bareCpuMs).push(result.cpuMs);
      events += result.events;
      scrapes += result.scrapes;
      log(
        `api: ${withApi ? 'with API + SSE + scraper' : 'without http'}: ${fmt(result.throughput)}/s, ${result.cpuMs.toFixed(0)} ms CPU in the orchestrator`,
      );
      await settle();
    }
    o.slowdowns.push(pairRuns.get(false)! / pairRuns.get(true)!);
  }
  return { ...o, events, scrapes };
}

function bigSwarm(): FakeSwarm {
  const types = Array.from({ length: 100 }, (_, i) => ({
    taskType: `type-${i}`,
    done: 10_000 + i * 137,
    failed: i % 7,
    queued: i * 3,
  }));
  const states = ['idle', 'busy', 'loading', 'draining'];
  const swarmlets = Array.from({ length: 1_000 }, (_, i) => ({ taskType: `type-${i % 100}`, state: states[i % 4]! }));
  const nodes = Array.from({ length: 50 }, (_, i) => ({ node: `node-${i}`, state: 'ready' }));
  return { types, swarmlets, nodes };
}

async function scrapeTimes(): Promise<{ times: number[]; bytes: number }> {
  const swarm = bigSwarm();
  const operations = fakeOperations(() => swarm);
  const { scrape } = prometheusMetrics(operations);
  const server = await startApiServer({
    operations,
    environment: wallEnvironment,
    host: '127.0.0.1',
    port: 0,
    metrics: scrape,
  });
  try {
    let bytes = 0;
    for (let i = 0; i < 20; i++) bytes = (await (await fetch(`${server.url}/metrics`)).text()).length; // warm-up
    const times: number[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      const start = now();
      await (await fetch(`${server.url}/metrics`)).text();
      times.push(now() - start);
    }
    return { times, bytes };
  } finally {
    await server.close();
  }
}

export async function runApi(): Promise<SectionResult> {
  log(`api: ${PAIRS} interleaved pairs × ${fmt(TASKS_PER_RUN)} no-op tasks, with and without the API served`);
  const { served, bare, slowdowns, servedCpuMs, bareCpuMs, events, scrapes } = await overhead();
  log(`api: ${SCRAPES} scrapes of /metrics for 1,000 swarmlets and 100 task types`);
  const { times, bytes } = await scrapeTimes();
  const cluster = await clusterApiOverhead();
  const big = await bigClusterAnswers();
  const withApi = median(served);
  const without = median(bare);
  const p50 = median(times);
  const p99 = percentile(times, 99);
  const rows: Row[] = [
    {
      section: SECTION,
      metric: 'no-op tasks/s with API + SSE client + 1 s scraper',
      unit: '/s',
      swarmlet: withApi,
      baseline: without,
      baselineName: 'the same swarm without http',
      ratio: median(slowdowns),
      ratioNote: 'without ÷ with, median of pairs',
      goal: 'lower',
      target: 1.05,
    },
    {
      section: SECTION,
      metric: '/metrics answer p99, 1,000 swarmlets × 100 types',
      unit: 'ms',
      swarmlet: p99,
      baseline: 20,
      baselineName: 'the 20 ms budget',
      ratio: p99 / 20,
      goal: 'lower',
      target: 1,
    },
    ...cluster.rows,
    ...big.rows,
  ];
  const details: Detail[] = [
    {
      section: SECTION,
      name: 'no-op tasks/s with API served',
      value: withApi,
      unit: '/s',
      note: `median of ${PAIRS}: ${served.map((v) => fmt(v)).join(', ')}; ${events} events, ${scrapes} scrapes`,
    },
    {
      section: SECTION,
      name: 'no-op tasks/s without http',
      value: without,
      unit: '/s',
      note: `median of ${PAIRS}: ${bare.map((v) => fmt(v)).join(', ')}`,
    },
    {
      section: SECTION,
      name: 'slowdown per pair (without ÷ with)',
      value: median(slowdowns),
      unit: '×',
      note: slowdowns.map((v) => v.toFixed(2)).join(', '),
    },
    {
      section: SECTION,
      name: 'orchestrator CPU per run, with ÷ without',
      value: median(servedCpuMs) / median(bareCpuMs),
      unit: '×',
      note: `medians ${median(servedCpuMs).toFixed(0)} vs ${median(bareCpuMs).toFixed(0)} ms for ${fmt(TASKS_PER_RUN)} tasks`,
    },
    { section: SECTION, name: '/metrics answer median', value: p50, unit: 'ms', note: `${SCRAPES} scrapes` },
    { section: SECTION, name: '/metrics answer p99', value: p99, unit: 'ms', note: `${bytes} bytes per answer` },
    ...cluster.details,
    ...big.details,
  ];
  return {
    rows,
    details,
    extra: { served, bare, slowdowns, servedCpuMs, bareCpuMs, scrapeMs: times, ...cluster.extra, ...big.extra },
  };
}
