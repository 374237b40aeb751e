/**
 * `npm run bench`: Swarmlet vs its baselines, measured side by side in one run (absolute times
 * drift on this machine; the ratios are what we compare against the targets).
 *
 *   node dist/bench.js [--only <section>] [--pipeline-reps N]
 *   sections: throughput, latency, cold-start, pipeline, cluster, sandbox, simulator, placement, api, dashboard
 */
import { availableParallelism, cpus } from 'node:os';
import { runApi } from './api.js';
import { runCluster } from './cluster.js';
import { runDashboard } from './dashboard.js';
import { runColdStart } from './cold-start.js';
import { runLatency } from './latency.js';
import { runPipeline } from './pipeline.js';
import { runPlacement } from './placement.js';
import { runSandbox } from './sandbox.js';
import { runSimulator } from './simulator.js';
import { renderDetails, renderRows, writeJson, type SectionResult } from './table.js';
import { runThroughput } from './throughput.js';
import { log, now } from './util.js';

const SECTIONS = [
  'throughput',
  'latency',
  'cold-start',
  'pipeline',
  'cluster',
  'sandbox',
  'simulator',
  'placement',
  'api',
  'dashboard',
] as const;
type Section = (typeof SECTIONS)[number];

interface Args {
  readonly only: Section | undefined;
  readonly pipelineReps: number;
}

class UsageError extends Error {}

function isSection(value: string): value is Section {
  return (SECTIONS as readonly string[]).includes(value);
}

function parseArgs(argv: readonly string[]): Args {
  let only: Section | undefined;
  let pipelineReps = 4;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (arg === '--only' && value !== undefined && isSection(value)) {
      only = value;
      i++;
    } else if (arg === '--pipeline-reps' && value !== undefined && /^[1-9]\d*$/.test(value)) {
      pipelineReps = Number(value);
      i++;
    } else {
      throw new UsageError(
        `bench: bad argument "${arg}${value === undefined ? '' : ` ${value}`}". Usage: --only ${SECTIONS.join('|')} · --pipeline-reps N (≥ 1)`,
      );
    }
  }
  return { only, pipelineReps };
}

async function runSection(section: Section, args: Args): Promise<SectionResult> {
  switch (section) {
    case 'throughput':
      return runThroughput();
    case 'latency':
      return runLatency();
    case 'cold-start':
      return runColdStart();
    case 'pipeline':
      return runPipeline(args.pipelineReps);
    case 'cluster':
      return runCluster();
    case 'sandbox':
      return runSandbox();
    case 'simulator':
      return runSimulator();
    case 'placement':
      return runPlacement();
    case 'api':
      return runApi();
    case 'dashboard':
      return runDashboard();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = now();
  const results: Partial<Record<Section, SectionResult>> = {};
  const timings: Partial<Record<Section, number>> = {};
  for (const section of SECTIONS) {
    if (args.only !== undefined && args.only !== section) continue;
    const sectionStart = now();
    results[section] = await runSection(section, args);
    timings[section] = Math.round(now() - sectionStart);
    log(`${section} done in ${((timings[section] ?? 0) / 1000).toFixed(1)} s`);
  }
  const done = Object.values(results);
  const rows = done.flatMap((result) => result.rows);
  const details = done.flatMap((result) => result.details);
  const totalMs = now() - started;
  process.stdout.write(
    `\nSwarmlet benchmark — node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalMs / 1000).toFixed(1)} s\n\n`,
  );
  process.stdout.write(`${renderRows(rows)}\n\n`);
  process.stdout.write(`${renderDetails(details)}\n\n`);
  const path = writeJson(results, {
    at: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    totalMs: Math.round(totalMs),
    sectionMs: timings,
    only: args.only ?? null,
  });
  process.stdout.write(`results: ${path}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const text =
      error instanceof UsageError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`bench failed: ${text}\n`);
    process.exit(1);
  },
);
