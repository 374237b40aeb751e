/**
 * Section 4: shifting bottleneck. The file-pipeline example (hash → compress → index, files in size
 * order, so the bottleneck moves from hash to compress) under `adaptive` vs every static split of
 * the same swarmlet budget N. Each config runs REPS times on a fresh swarm, order rotated per rep;
 * wall = run() → result (cold starts included for every config alike); medians compared.
 */
import { availableParallelism } from 'node:os';
import type { JobInput } from '../src/core/job.js';
import { loadJob } from '../src/cli/load-job.js';
import { Swarm, type SwarmOptions } from '../src/swarm.js';
import type { Detail, Row, SectionResult } from './table.js';
import { CACHE_DIR, FILE_PIPELINE, log, median, now, reapedChildrenCpuMs, settle } from './util.js';

const SECTION = 'pipeline';
export const BUDGET = 4;
const TYPES = ['hash', 'compress', 'index'] as const;

type Split = Record<(typeof TYPES)[number], number>;

interface Config {
  readonly name: string;
  readonly policy: SwarmOptions['policy'];
  readonly split?: Split;
}

interface PipelineRun {
  readonly config: string;
  readonly rep: number;
  readonly wallMs: number;
  /** CPU the swarmlets burned (start to stop), over wall × cores: how busy the machine was kept. */
  readonly swarmletCpuMs: number;
  readonly coldStarts: number;
  readonly morphs: number;
  readonly files: number;
  readonly taskTypes: {
    taskType: string;
    meanDurationMs: number;
    peakSwarmlets: number;
    coldStarts: number;
    meanColdStartMs: number;
  }[];
  /** Per tick: [ms since run(), hash done, compress done, hash swarmlets, compress swarmlets, index swarmlets]. */
  readonly timeline: number[][];
}

/** Every {hash: a, compress: b, index: c} with a + b + c = n and each ≥ 1. */
export function staticSplits(n: number): Split[] {
  const splits: Split[] = [];
  for (let hash = 1; hash <= n - 2; hash++) {
    for (let compress = 1; hash + compress <= n - 1; compress++)
      splits.push({ hash, compress, index: n - hash - compress });
  }
  return splits;
}

/**
 * "Equal": the two heavy stages (hash, compress) get the same count, as large as possible with
 * index ≥ 1; index takes the rest. For N = 4 that is {hash: 1, compress: 1, index: 2}.
 */
export function equalSplit(n: number): Split {
  const each = Math.floor((n - 1) / 2);
  return { hash: each, compress: each, index: n - 2 * each };
}

const splitName = (split: Split): string => `static(${TYPES.map((t) => `${t}=${split[t]}`).join(',')})`;

async function runOnce(config: Config, taskPaths: string[], job: JobInput, rep: number): Promise<PipelineRun> {
  const cpuBefore = reapedChildrenCpuMs();
  const swarm = await Swarm.start({
    tasks: taskPaths,
    maxSwarmlets: BUDGET,
    policy: config.policy,
    cacheDir: CACHE_DIR,
  });
  const timeline: number[][] = [];
  let start = now();
  swarm.onProgress((view) => {
    const of = (type: string) => view.taskTypes.find((t) => t.taskType === type);
    timeline.push([
      Math.round(view.atMs - start),
      of('hash')?.done ?? 0,
      of('compress')?.done ?? 0,
      of('hash')?.swarmlets ?? 0,
      of('compress')?.swarmlets ?? 0,
      of('index')?.swarmlets ?? 0,
    ]);
  });
  let wallMs: number;
  let output: { index?: { files?: number } } | null;
  let summary: ReturnType<Swarm['summary']>;
  try {
    start = now();
    output = (await swarm.run(structuredClone(job))) as { index?: { files?: number } } | null;
    wallMs = now() - start;
    summary = swarm.summary();
  } finally {
    await swarm.stop();
  }
  const morphs = Object.values(summary.actions).reduce(
    (sum, groups) => sum + (groups ?? []).reduce((n, group) => n + group.count, 0),
    0,
  );
  const taskTypes = summary.taskTypes.map((t) => ({
    taskType: t.taskType,
    meanDurationMs: round(t.meanDurationMs),
    peakSwarmlets: t.peakSwarmlets,
    coldStarts: t.coldStarts,
    meanColdStartMs: round(t.meanColdStartMs),
  }));
  return {
    config: config.name,
    rep,
    wallMs,
    swarmletCpuMs: reapedChildrenCpuMs() - cpuBefore,
    coldStarts: summary.coldStarts,
    morphs,
    files: output?.index?.files ?? -1,
    taskTypes,
    timeline,
  };
}

const round = (value: number): number => Math.round(value * 10) / 10;

export async function runPipeline(reps: number): Promise<SectionResult> {
  const { definition, taskPaths } = await loadJob(FILE_PIPELINE, CACHE_DIR);
  const job = await definition.build({});
  const equal = equalSplit(BUDGET);
  const cores = availableParallelism();
  const configs: Config[] = [
    { name: 'adaptive', policy: 'adaptive' },
    ...staticSplits(BUDGET).map((split) => ({ name: splitName(split), policy: { static: split }, split })),
  ];
  log(
    `pipeline: ${definition.name}, budget N=${BUDGET}, ${configs.length} configs × ${reps} reps; equal split = ${splitName(equal)}`,
  );
  const runs: PipelineRun[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < configs.length; k++) {
      const config = configs[(k + rep) % configs.length]!;
      await settle();
      const run = await runOnce(config, taskPaths, job, rep);
      runs.push(run);
      const durations = run.taskTypes.map((t) => `${t.taskType} ${t.meanDurationMs} ms`).join(', ');
      log(
        `  rep ${rep + 1}/${reps} ${config.name}: ${(run.wallMs / 1000).toFixed(2)} s, swarmlet CPU ${(run.swarmletCpuMs / 1000).toFixed(1)} s, ${run.coldStarts} cold starts, ${run.morphs} actions, ${run.files} files; mean ${durations}`,
      );
    }
  }
  const medianOf = (name: string): number => median(runs.filter((r) => r.config === name).map((r) => r.wallMs));
  const cpuOf = (name: string): string => {
    const cpu = median(runs.filter((r) => r.config === name).map((r) => r.swarmletCpuMs));
    return Number.isFinite(cpu)
      ? `swarmlet CPU ${(cpu / 1000).toFixed(1)} s (${((cpu / medianOf(name) / cores) * 100).toFixed(0)}% of ${cores} cores)`
      : '';
  };
  const statics = configs.filter((c) => c.split !== undefined).map((c) => ({ name: c.name, wallMs: medianOf(c.name) }));
  const best = statics.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const worst = statics.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
  const equalName = splitName(equal);
  const equalMs = medianOf(equalName);
  const adaptiveMs = medianOf('adaptive');

  const rows: Row[] = [
    {
      section: SECTION,
      metric: `file-pipeline wall, adaptive vs best static (N=${BUDGET})`,
      unit: 'ms',
      swarmlet: adaptiveMs,
      baseline: best.wallMs,
      baselineName: best.name,
      ratio: adaptiveMs / best.wallMs,
      goal: 'lower',
      target: 1.1,
    },
    {
      section: SECTION,
      metric: `file-pipeline speed-up, adaptive vs equal (N=${BUDGET})`,
      unit: 'ms',
      swarmlet: adaptiveMs,
      baseline: equalMs,
      baselineName: equalName,
      ratio: equalMs / adaptiveMs,
      ratioNote: 'faster (equal/adaptive)',
      goal: 'higher',
      target: 1.3,
    },
  ];
  const details: Detail[] = [
    ...[{ name: 'adaptive', wallMs: adaptiveMs }, ...statics].map((s) => ({
      section: SECTION,
      name: s.name,
      value: s.wallMs,
      unit: 'ms',
      note: [
        [s.name === best.name ? 'best' : '', s.name === equalName ? 'equal' : '', s.name === worst.name ? 'worst' : '']
          .filter(Boolean)
          .join('+'),
        `runs ${runs
          .filter((r) => r.config === s.name)
          .map((r) => r.wallMs.toFixed(0))
          .join(', ')} ms`,
        cpuOf(s.name),
      ]
        .filter(Boolean)
        .join('; '),
    })),
  ];
  return { rows, details, extra: { budget: BUDGET, equalSplit: equal, bestStatic: best.name, runs } };
}
