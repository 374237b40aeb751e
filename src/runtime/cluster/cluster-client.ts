import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { InputError } from '../../core/errors.js';
import { parseJob, type JobInput } from '../../core/job.js';
import { compileTaskModule } from '../local/task-compiler.js';
import { connectRedis } from './redis-connect.js';
import {
  DEFAULT_PREFIX,
  jobKeySchema,
  jobOutcomeSchema,
  keys,
  parseStored,
  placementDecisionSchema,
  progressSchema,
  type ClusterProgress,
  type JobOutcome,
  type LogEntry,
  type ModuleRecord,
  type PlacementDecisionRecord,
} from './protocol.js';

export interface ClusterRunOptions {
  readonly redisUrl: string;
  readonly prefix?: string;
  readonly cacheDir: string;
  readonly onProgress?: (progress: ClusterProgress) => void;
  /** Told once when no director is heart-beating: the job waits in the log until one starts. */
  readonly onNoDirector?: () => void;
  readonly progressEveryMs?: number;
  /**
   * Names the job so a submit can be repeated safely (a client that crashed, a retried script):
   * while the job runs, or for 24 h after it ended, the same key gets the same job's outcome
   * instead of a second run. Default: a fresh UUID.
   */
  readonly jobKey?: string;
}

/**
 * Appends the job unless a job with its key already ended; then that outcome stands. A refusal by
 * admission control does not stand: the key is submitted again (a new log entry, decided afresh).
 */
const SUBMIT = `
local outcome = redis.call('GET', KEYS[1])
if outcome and cjson.decode(outcome).status ~= 'refused' then return outcome end
redis.call('DEL', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
return false`;

/** A job key from the user, checked (`field` names it in the error: `--job-key` on the CLI). */
export function parseJobKey(value: string, field = 'jobKey'): string {
  const parsed = jobKeySchema.safeParse(value);
  if (!parsed.success)
    throw new InputError(
      field,
      `"${value.slice(0, 40)}" is not a job key`,
      parsed.error.issues[0]?.message ?? 'use letters and digits',
    );
  return parsed.data;
}

/**
 * `swarmlet run --redis`: compiles the job's task modules and stores them in Redis (agents load
 * them from there, so no machine needs a copy of the job's code), appends the job to the log, and
 * waits for the director's outcome while polling its progress.
 */
export async function runOnCluster(
  taskPaths: readonly string[],
  rawJob: JobInput,
  options: ClusterRunOptions,
): Promise<{ jobKey: string; outcome: JobOutcome; decisions: PlacementDecisionRecord[] }> {
  const job = parseJob(rawJob); // bad input fails here, before anything is sent
  const jobKey = options.jobKey === undefined ? randomUUID() : parseJobKey(options.jobKey);
  const k = keys(options.prefix ?? DEFAULT_PREFIX);
  const redis = await connectRedis(options.redisUrl);
  const listener = await connectRedis(options.redisUrl).catch(async (error: unknown) => {
    await redis.quit();
    throw error;
  });
  try {
    const modules = await storeModules(redis, k, taskPaths, options.cacheDir);
    await listener.subscribe(k.jobDone);
    const done = new Promise<void>((resolve) =>
      listener.on('message', (_channel, key: string) => key === jobKey && resolve()),
    );
    const entry: LogEntry = { kind: 'job', jobKey, job, modules };
    // Atomic with the outcome check: a key that already ended is answered, never logged again
    // (the director forgets keys whose log entries were trimmed; the outcome outlives them).
    await redis.eval(SUBMIT, 2, k.job(jobKey), k.log, JSON.stringify(entry));
    if ((await redis.exists(k.director)) === 0) options.onNoDirector?.();
    for (;;) {
      const outcome = parseStored(jobOutcomeSchema, await redis.get(k.job(jobKey)), k.job(jobKey));
      if (outcome) return { jobKey, outcome, decisions: await latestDecisions(redis, k, DECISIONS_SHOWN) };
      const progress = parseStored(progressSchema, await redis.get(k.progress(jobKey)), k.progress(jobKey));
      if (progress) options.onProgress?.(progress);
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, options.progressEveryMs ?? 200))]);
    }
  } finally {
    listener.disconnect();
    await redis.quit();
  }
}

const DECISIONS_SHOWN = 5;

/** The latest placement auctions, newest first (bad entries are skipped: they are only a report). */
export async function latestDecisions(
  redis: Redis,
  k: ReturnType<typeof keys>,
  count: number,
): Promise<PlacementDecisionRecord[]> {
  const raw = await redis.lrange(k.decisions, 0, count - 1);
  return raw.flatMap((text) => {
    try {
      return [parseStored(placementDecisionSchema, text, k.decisions)!];
    } catch {
      return [];
    }
  });
}

/** Compiles each task module and stores its bundle under `P:module:<type>`; returns the type names. */
export async function storeModules(
  redis: Redis,
  k: ReturnType<typeof keys>,
  taskPaths: readonly string[],
  cacheDir: string,
): Promise<string[]> {
  const names: string[] = [];
  for (const path of taskPaths) {
    const info = await compileTaskModule(path, cacheDir);
    const code = await readFile(info.modulePath, 'utf8');
    const record: ModuleRecord = {
      taskType: info.name,
      hash: createHash('sha256').update(code).digest('hex').slice(0, 16),
      code,
      hasJoin: info.hasJoin,
      hintDurationMs: info.hintDurationMs,
      hintCpu: info.hintCpu,
      hintMemoryMb: info.hintMemoryMb,
    };
    await redis.set(k.module(info.name), JSON.stringify(record));
    names.push(info.name);
  }
  return names;
}
