import type { JobDefinition } from '../core/define-job.js';
import { InputError, JobCancelledError } from '../core/errors.js';
import type { JobInput } from '../core/job.js';
import { Swarm } from '../swarm.js';
import { loadJob } from './load-job.js';
import { ProgressBars, ProgressLines } from './progress.js';
import { runClusterJob } from './run-cluster.js';
import { asFlagError, checkRunArguments, type RunCommandOptions, type RunPlan } from './run-options.js';
import { announceDashboard, dashboardUrl, serveUntilStopped } from './run-dashboard.js';
import { renderSummary } from './summary-text.js';
import { simulateLikeRun, simulatedLine } from './workflow-fidelity.js';
import { writeWorkflowJob } from './workflow-job.js';

export { durationMs, parsePolicy, type RunCommandOptions } from './run-options.js';

/** `swarmlet run <job>`: runs a job on this machine and prints its summary. */
export async function runCommand(
  target: string | undefined,
  options: RunCommandOptions,
  command?: { args: string[] },
): Promise<void> {
  const write = claimStdout(options.json);
  try {
    await runJob(target, options, write, command?.args);
  } finally {
    write.release();
  }
}

async function runJob(
  target: string | undefined,
  options: RunCommandOptions,
  write: StdoutWriter,
  args?: string[],
): Promise<void> {
  const plan = await checkRunArguments(target, options, args);
  const workflowJob = plan.workflow && (await writeWorkflowJob(plan.workflow.file, plan.swarm.cacheDir, plan.workflow));
  const { definition, taskPaths } = await loadJob(workflowJob?.jobFile ?? plan.jobFile, plan.swarm.cacheDir);
  const jobInput = await buildJob(definition, plan.jobOptions);
  if (plan.redis !== undefined) {
    return runClusterJob(
      definition.name,
      taskPaths,
      { name: definition.name, ...jobInput, ...plan.sla },
      { ...options, redis: plan.redis },
      write,
    );
  }
  const swarm = await startSwarm(plan, taskPaths);
  const removeHttpFile = swarm.http && announceDashboard(swarm.http);
  const progress = !options.progress
    ? undefined
    : process.stderr.isTTY
      ? new ProgressBars([...swarm.taskTypes.keys()])
      : new ProgressLines();
  if (progress) swarm.onProgress((view) => progress.update(view));
  const stopOnSignal = (signal: NodeJS.Signals) => void swarm.stop().then(() => process.exit(128 + SIGNALS[signal]!));
  for (const signal of Object.keys(SIGNALS)) process.once(signal, stopOnSignal);
  let failure: unknown;
  try {
    try {
      await runAndReport(swarm, definition.name, { ...jobInput, ...plan.sla }, plan, write, workflowJob?.workflow);
    } catch (error) {
      failure = error;
    }
    progress?.stop();
    for (const signal of Object.keys(SIGNALS)) process.off(signal, stopOnSignal);
    // --dashboard serves on after the job, whatever its outcome (that is when one looks at what happened); a job
    // refused as bad input never ran.
    if (swarm.http && !options.exit && !(failure instanceof InputError))
      await serveUntilStopped(dashboardUrl(swarm.http), failure === undefined ? 'done' : outcomeOf(failure));
  } finally {
    progress?.stop();
    for (const signal of Object.keys(SIGNALS)) process.off(signal, stopOnSignal);
    await swarm.stop();
    removeHttpFile?.();
  }
  if (failure !== undefined) throw failure;
}

/** Runs the job and prints its summary (as JSON with --json). */
async function runAndReport(
  swarm: Swarm,
  name: string,
  job: JobInput,
  plan: RunPlan,
  write: StdoutWriter,
  workflow: Parameters<typeof simulateLikeRun>[0] | undefined,
): Promise<void> {
  const output = await swarm.run({ name, ...job }).catch((error: unknown) => {
    throw error instanceof InputError ? asFlagError(error, plan.swarm) : error; // a static split without its type
  });
  const summary = swarm.summary();
  const simulated = workflow && (await simulateLikeRun(workflow, plan, summary));
  if (plan.options.json)
    write(`${JSON.stringify({ job: name, ...summary, output, ...(simulated && { simulated }) }, null, 2)}\n`);
  else
    write(
      `${renderSummary(name, summary)}\n\n${simulated ? `${simulatedLine(simulated)}\n` : `output: ${preview(output)}\n`}`,
    );
}

function outcomeOf(error: unknown): string {
  if (error instanceof JobCancelledError) return 'cancelled';
  return `failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
}

/**
 * Signals that end a run the way Ctrl-C does: the swarm is stopped (its swarmlets, /dev/shm black boxes and memory
 * cgroups go with it), then the process exits 128 + the signal's number, as a shell expects.
 */
const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/** Writes to the real stdout; `release` gives process.stdout.write back. */
export interface StdoutWriter {
  (text: string): void;
  release(): void;
}

/**
 * With --json, stdout carries the JSON document only. The job file and task modules are imported into this process,
 * so what their top level prints would land in it: from here on, process.stdout.write goes to stderr.
 */
function claimStdout(json: boolean): StdoutWriter {
  const stdoutWrite = process.stdout.write;
  const write = (text: string) => void stdoutWrite.call(process.stdout, text);
  if (json) process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return Object.assign(write, { release: () => void (process.stdout.write = stdoutWrite) });
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
