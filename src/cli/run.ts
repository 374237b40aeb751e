import type { JobDefinition } from '../core/define-job.js';
import { InputError } from '../core/errors.js';
import type { JobInput } from '../core/job.js';
import { Swarm } from '../swarm.js';
import { loadJob } from './load-job.js';
import { ProgressBars, ProgressLines } from './progress.js';
import { runClusterJob } from './run-cluster.js';
import { asFlagError, checkRunArguments, type RunCommandOptions, type RunPlan } from './run-options.js';
import { renderSummary } from './summary-text.js';

export { durationMs, parsePolicy, type RunCommandOptions } from './run-options.js';

/** `swarmlet run <job>`: runs a job on this machine and prints its summary. */
export async function runCommand(
  target: string,
  options: RunCommandOptions,
  command?: { args: string[] },
): Promise<void> {
  const plan = await checkRunArguments(target, options, command?.args);
  const { definition, taskPaths } = await loadJob(plan.jobFile, plan.swarm.cacheDir);
  const jobInput = await buildJob(definition, plan.jobOptions);
  if (plan.redis !== undefined) {
    return runClusterJob(
      definition.name,
      taskPaths,
      { name: definition.name, ...jobInput, ...plan.sla },
      { ...options, redis: plan.redis },
    );
  }
  const swarm = await startSwarm(plan, taskPaths);
  const progress = !options.progress
    ? undefined
    : process.stderr.isTTY
      ? new ProgressBars([...swarm.taskTypes.keys()])
      : new ProgressLines();
  if (progress) swarm.onProgress((view) => progress.update(view));
  const stopOnSignal = () => void swarm.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  try {
    const output = await swarm.run({ name: definition.name, ...jobInput, ...plan.sla }).catch((error: unknown) => {
      throw error instanceof InputError ? asFlagError(error, plan.swarm) : error; // a static split without its type
    });
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

/** Swarm.start's refusals that only the task types can tell (a static split that leaves one out) name the flag. */
async function startSwarm(plan: RunPlan, taskPaths: string[]): Promise<Swarm> {
  try {
    return await Swarm.start({ tasks: taskPaths, ...plan.swarm });
  } catch (error) {
    throw error instanceof InputError ? asFlagError(error, plan.swarm) : error;
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

function preview(output: unknown): string {
  const text = JSON.stringify(output) ?? 'undefined';
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
}
