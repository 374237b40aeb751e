import type { JobInput } from '../core/job.js';
import { AdmissionError, TaskFailedError } from '../core/errors.js';
import { parseJobKey, runOnCluster } from '../runtime/cluster/cluster-client.js';
import { readSigningKey } from '../runtime/cluster/signing-keys.js';
import type { ProgressView } from '../runtime/run-reporter.js';
import { ProgressBars, ProgressLines } from './progress.js';
import type { RedisConnection } from './redis-flags.js';

export interface ClusterRunCliOptions {
  readonly redis: RedisConnection;
  readonly prefix: string;
  readonly cacheDir: string;
  readonly json: boolean;
  readonly progress: boolean;
  readonly jobKey?: string;
  readonly signKey?: string;
}

/** `swarmlet run --redis …`: the job runs on the cluster; the same progress and a summary come back. */
export async function runClusterJob(
  name: string,
  taskPaths: readonly string[],
  job: JobInput,
  options: ClusterRunCliOptions,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<void> {
  let bars: ProgressBars | ProgressLines | undefined;
  let last: ProgressView | undefined;
  let faultsSaid = 0;
  // What went wrong and was retried (a swarmlet crashed, or broke a node's consent caps), said as it happens.
  const sayFaults = (faults: readonly string[] = []) => {
    for (const fault of faults.slice(faultsSaid)) process.stderr.write(`swarmlet: retried: ${fault}\n`);
    faultsSaid = Math.max(faultsSaid, faults.length);
  };
  const { jobKey, outcome, decisions } = await runOnCluster(taskPaths, job, {
    redisUrl: options.redis.url,
    ...(options.redis.tls && { redisTls: options.redis.tls }),
    prefix: options.prefix,
    cacheDir: options.cacheDir,
    ...(options.jobKey !== undefined && { jobKey: parseJobKey(options.jobKey, '--job-key') }),
    ...(options.signKey !== undefined && { signKey: readSigningKey(options.signKey, '--sign-key') }),
    onNoDirector: (reason) =>
      process.stderr.write(`swarmlet: ${reason}; the job waits in the log until \`swarmlet serve --redis …\` starts\n`),
    onWarning: (line) => process.stderr.write(`swarmlet: warning: ${line}\n`),
    onProgress: (progress) => {
      sayFaults(progress.faults);
      if (!options.progress) return;
      const elapsedMs = last ? progress.atMs - last.atMs : 0;
      const view: ProgressView = {
        atMs: progress.atMs,
        taskTypes: progress.taskTypes.map((t) => {
          const before = last?.taskTypes.find((b) => b.taskType === t.taskType)?.done ?? t.done;
          return { ...t, ratePerSec: elapsedMs > 0 ? ((t.done - before) * 1000) / elapsedMs : 0 };
        }),
      };
      bars ??= process.stderr.isTTY ? new ProgressBars(view.taskTypes.map((t) => t.taskType)) : new ProgressLines();
      bars.update(view);
      last = view;
    },
  });
  bars?.stop();
  sayFaults(outcome.faults);
  if (outcome.status === 'refused')
    throw new AdmissionError(
      `${outcome.error ?? 'over its class limit'} (cluster job ${jobKey})`,
      outcome.retryAfterMs,
    );
  if (options.json) {
    write(`${JSON.stringify({ job: name, jobKey, ...outcome, decisions }, null, 2)}\n`);
  } else {
    const duplicates = outcome.duplicateResults > 0 ? `, ${outcome.duplicateResults} duplicate result(s) ignored` : '';
    write(
      `${name} (cluster job ${jobKey}): ${outcome.status}, ${outcome.microTasks} micro-tasks in ${(outcome.wallMs / 1000).toFixed(2)} s${duplicates}\n`,
    );
    if (decisions.length > 0) write('\nlatest placement auctions (newest first):\n');
    for (const decision of decisions)
      write(
        `  ${decision.taskType}${decision.claim === undefined ? '' : ` (claims ${decision.claim})`}: ${decision.reasons.join(' | ')}\n`,
      );
    if (outcome.status === 'done') write(`\noutput: ${preview(outcome.output)}\n`);
  }
  if (outcome.status === 'failed') throw new TaskFailedError(name, jobKey, 0, outcome.error ?? 'failed');
  if (outcome.status === 'cancelled')
    throw new ClusterJobCancelledError(`${name} (cluster job ${jobKey}) was ${outcome.error ?? 'cancelled'}`);
}

/** The job was cancelled on the cluster (POST /api/jobs/{id}/cancel): said as such, exit code 1. */
export class ClusterJobCancelledError extends Error {
  override readonly name = 'ClusterJobCancelledError';
}

function preview(output: unknown): string {
  const text = JSON.stringify(output) ?? 'undefined';
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} characters)` : text;
}
