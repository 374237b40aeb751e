import type { JobDefinition } from '../core/define-job.js';
import { InputError } from '../core/errors.js';
import type { JobInput } from '../core/job.js';
import { Swarm, type SwarmOptions } from '../swarm.js';
import { loadJob, parseSetOptions } from './load-job.js';
import { ProgressBars, ProgressLines } from './progress.js';
import { runClusterJob } from './run-cluster.js';
import { renderSummary } from './summary-text.js';

export interface RunCommandOptions {
  readonly set: string[];
  readonly json: boolean;
  readonly progress: boolean;
  readonly maxSwarmlets?: string;
  readonly policy: string;
  readonly tickMs?: string;
  readonly cacheDir: string;
  readonly history: string | false;
  readonly priority?: string;
  readonly deadline?: string;
  /** Run on the cluster behind this Redis instead of this machine. */
  readonly redis?: string;
  readonly prefix: string;
  /** With --redis: names the job, so a second submit attaches to it instead of running it again. */
  readonly jobKey?: string;
}

/** `swarmlet run <job>`: runs a job on this machine and prints its summary. */
export async function runCommand(target: string, options: RunCommandOptions): Promise<void> {
  if (options.jobKey !== undefined && options.redis === undefined)
    throw new InputError(
      '--job-key',
      'names a cluster job, and this run is on this machine',
      'add --redis <url>, or drop --job-key',
    );
  const { definition, taskPaths } = await loadJob(target, options.cacheDir);
  const jobInput = await buildJob(definition, parseSetOptions(options.set));
  const sla = {
    ...(options.priority !== undefined && { priority: priorityClass(options.priority) }),
    ...(options.deadline !== undefined && { deadlineMs: durationMs('--deadline', options.deadline) }),
  };
  if (options.redis !== undefined) {
    return runClusterJob(
      definition.name,
      taskPaths,
      { name: definition.name, ...jobInput, ...sla },
      { ...options, redis: options.redis },
    );
  }
  const swarm = await Swarm.start({
    tasks: taskPaths,
    policy: parsePolicy(options.policy),
    cacheDir: options.cacheDir,
    historyFile: options.history,
    ...(options.maxSwarmlets !== undefined && {
      maxSwarmlets: positiveInteger('--max-swarmlets', options.maxSwarmlets),
    }),
    ...(options.tickMs !== undefined && { tickMs: positiveInteger('--tick-ms', options.tickMs) }),
  });
  const progress = !options.progress
    ? undefined
    : process.stderr.isTTY
      ? new ProgressBars([...swarm.taskTypes.keys()])
      : new ProgressLines();
  if (progress) swarm.onProgress((view) => progress.update(view));
  const stopOnSignal = () => void swarm.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  try {
    const output = await swarm.run({ name: definition.name, ...jobInput, ...sla });
    progress?.stop();
    const summary = swarm.summary();
    if (options.json)
      process.stdout.write(`${JSON.stringify({ job: definition.name, ...summary, output }, null, 2)}\n`);
    else process.stdout.write(`${renderSummary(definition.name, summary)}\n\noutput: ${preview(output)}\n`);
  } finally {
    progress?.stop();
    process.off('SIGINT', stopOnSignal);
    await swarm.stop();
  }
}

/** A job's build() validates its own options; its error is the user's to fix, not a crash. */
async function buildJob(definition: JobDefinition, options: Record<string, string>): Promise<JobInput> {
  try {
    return await definition.build(options);
  } catch (error) {
    throw InputError.preformatted(`job ${definition.name}`, error instanceof Error ? error.message : String(error));
  }
}

/** `adaptive`, or `static:hash=2,compress=1`. */
export function parsePolicy(text: string): SwarmOptions['policy'] {
  if (text === 'adaptive') return 'adaptive';
  if (text.startsWith('static:')) {
    const split: Record<string, number> = {};
    for (const part of text.slice('static:'.length).split(',')) {
      const [type, count] = part.split('=');
      if (!type || count === undefined || !/^\d+$/.test(count))
        throw new InputError('--policy', `"${part}" is not type=count`, 'write --policy static:hash=2,compress=1');
      split[type] = Number(count);
    }
    return { static: split };
  }
  throw new InputError('--policy', `unknown policy "${text}"`, 'use adaptive or static:type=count,...');
}

function priorityClass(text: string): 'low' | 'normal' | 'high' {
  if (text === 'low' || text === 'normal' || text === 'high') return text;
  throw new InputError('--priority', `"${text}" is not a priority class`, 'write --priority high (or normal, low)');
}

/** `2s`, `500ms`, `1.5m`, or plain milliseconds. */
export function durationMs(field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match?.[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const value = match ? Number(match[1]) * unit : Number.NaN;
  if (!(value > 0)) throw new InputError(field, `"${text}" is not a duration`, `write ${field} 2s (or 500ms, 1m)`);
  return value;
}

function positiveInteger(field: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(field, `"${text}" is not a positive integer`, `write ${field} 4`);
  return value;
}

function preview(output: unknown): string {
  const text = JSON.stringify(output) ?? 'undefined';
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
}
