/**
 * Section api, cluster rows: what serving the API costs a cluster. The cluster bench's workload (director in this
 * process, one agent process, a real redis-server, no-op micro-tasks) with the director serving the HTTP API as
 * `swarmlet serve --http` wires it, an SSE client on /api/events, /metrics scraped every 1 s and the dashboard's lists
 * polled (/api/jobs and /api/swarmlets every 1.5 s, /api/forecasts 2 s, /api/nodes 5 s), against the same cluster
 * serving nothing: interleaved pairs.
 */
import { clusterOperations } from '../src/api/cluster-operations.js';
import { prometheusMetrics } from '../src/api/metrics.js';
import { startApiServer } from '../src/api/server.js';
import { epochEnvironment } from '../src/runtime/local/wall-environment.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { clients, type ClientCounts } from './api-clients.js';
import { benchKeys, startCluster } from './cluster.js';
import type { Detail, Row } from './table.js';
import { fmt, log, median, settle } from './util.js';

const SECTION = 'api';
const TASKS = 100_000;
const PAIRS = 7;
const SCRAPE_EVERY_MS = 1_000;
/** The lists the dashboard reads (src/dashboard/main.js; /api/jobs as a poller would, the page takes it from SSE). */
/** An open dashboard reads everything from the live stream after its first reads (src/dashboard/main.js): no polls. */
const POLLS: { path: string; everyMs: number }[] = [];

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** The director's API as serve-http.ts starts it, with its clients; returns how to stop both. */
async function serve(cluster: Cluster): Promise<{ stop: () => Promise<ClientCounts> }> {
  const operations = clusterOperations({ director: () => cluster.director, clock: epochEnvironment.clock });
  const server = await startApiServer({
    operations,
    environment: epochEnvironment,
    host: '127.0.0.1',
    port: 0,
    metrics: prometheusMetrics(operations).scrape,
  });
  const watching = await clients(server.url, { scrapeEveryMs: SCRAPE_EVERY_MS, polls: POLLS });
  let stopped: Promise<ClientCounts> | undefined;
  const stop = async () => {
    const counts = await watching.stop();
    await server.close();
    return counts;
  };
  return { stop: () => (stopped ??= stop()) };
}

interface Run {
  readonly throughput: number;
  /** This process's CPU ms during the job: director, client and (when served) the API; the agent's are not in it. */
  readonly cpuMs: number;
  readonly counts: ClientCounts;
}

async function run(cluster: Cluster, served: boolean, tasks = TASKS): Promise<Run> {
  const serving = served ? await serve(cluster) : undefined;
  try {
    await settle(); // the dashboard is open before the job is submitted
    const cpu = process.cpuUsage();
    const throughput = await cluster.run(tasks);
    const { user, system } = process.cpuUsage(cpu);
    const counts = (await serving?.stop()) ?? { events: 0, scrapes: 0, polls: 0 };
    return { throughput, cpuMs: (user + system) / 1000, counts };
  } finally {
    await serving?.stop();
  }
}

export async function clusterApiOverhead(): Promise<{
  rows: Row[];
  details: Detail[];
  extra: Record<string, unknown>;
}> {
  log(`api: cluster, ${PAIRS} interleaved pairs × ${fmt(TASKS)} no-op micro-tasks, with and without the API served`);
  const redis = await startRedisServer();
  const cluster = await startCluster(redis.url, 'bench-api', 64, benchKeys());
  const served: number[] = [];
  const bare: number[] = [];
  const slowdowns: number[] = [];
  const servedCpuMs: number[] = [];
  const bareCpuMs: number[] = [];
  const seen = { events: 0, scrapes: 0, polls: 0 };
  try {
    // Swarmlets up, modules loaded, the type measured, the API's code warm, the heap and Redis grown to a job this
    // size: the first full-size run was a fifth slower, and it would always be a served one.
    for (const withApi of [true, false]) await run(cluster, withApi);
    for (let pair = 0; pair < PAIRS; pair++) {
      const byServed = new Map<boolean, number>();
      // Alternate which goes first: drift in the machine's speed falls on both alike.
      for (const withApi of pair % 2 === 0 ? [true, false] : [false, true]) {
        const result = await run(cluster, withApi);
        byServed.set(withApi, result.throughput);
        (withApi ? served : bare).push(result.throughput);
        (withApi ? servedCpuMs : bareCpuMs).push(result.cpuMs);
        seen.events += result.counts.events;
        seen.scrapes += result.counts.scrapes;
        seen.polls += result.counts.polls;
        log(
          `api: cluster ${withApi ? 'with API + SSE + scraper' : 'without http'}: ${fmt(result.throughput)}/s, ${result.cpuMs.toFixed(0)} ms CPU in the director's process`,
        );
      }
      slowdowns.push(byServed.get(false)! / byServed.get(true)!);
    }
  } finally {
    await cluster.stop();
    await redis.stop();
  }
  const rows: Row[] = [
    {
      section: SECTION,
      metric: 'cluster no-op micro-tasks/s with API + an open dashboard (SSE) + 1 s scraper',
      unit: '/s',
      swarmlet: median(served),
      baseline: median(bare),
      baselineName: 'the same cluster without http',
      ratio: median(slowdowns),
      ratioNote: 'without ÷ with, median of pairs',
      goal: 'lower',
      target: 1.05,
    },
  ];
  const details: Detail[] = [
    {
      section: SECTION,
      name: 'cluster micro-tasks/s with API served',
      value: median(served),
      unit: '/s',
      note: `median of ${PAIRS}: ${served.map((v) => fmt(v)).join(', ')}; ${seen.events} events, ${seen.scrapes} scrapes, ${seen.polls} polls`,
    },
    {
      section: SECTION,
      name: 'cluster micro-tasks/s without http',
      value: median(bare),
      unit: '/s',
      note: `median of ${PAIRS}: ${bare.map((v) => fmt(v)).join(', ')}`,
    },
    {
      section: SECTION,
      name: 'cluster slowdown per pair (without ÷ with)',
      value: median(slowdowns),
      unit: '×',
      note: slowdowns.map((v) => v.toFixed(2)).join(', '),
    },
    {
      section: SECTION,
      name: "director's process CPU per run, with ÷ without",
      value: median(servedCpuMs) / median(bareCpuMs),
      unit: '×',
      note: `medians ${median(servedCpuMs).toFixed(0)} vs ${median(bareCpuMs).toFixed(0)} ms for ${fmt(TASKS)} micro-tasks`,
    },
  ];
  return { rows, details, extra: { clusterServed: served, clusterBare: bare, clusterSlowdowns: slowdowns } };
}
