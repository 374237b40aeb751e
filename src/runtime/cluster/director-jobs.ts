import { randomUUID, type KeyObject } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { AdmissionError, InputError } from '../../core/errors.js';
import { parseJob, type Job } from '../../core/job.js';
import type { AdmissionDecision } from '../../schedule/admission.js';
import { appendJob, storeModules } from './cluster-client.js';
import type { JobBook } from './job-book.js';
import type { ModuleRecords } from './module-records.js';
import { jobOutcomeSchema, parseStored, type ClusterKeys, type LogEntry } from './protocol.js';

export interface SubmitOptions {
  /** Task modules to compile and register first (a job file's); without them, the job's types must be registered. */
  readonly taskPaths?: readonly string[];
  readonly cacheDir?: string;
  /** Signs the bundles registered from `taskPaths` (agents run only bundles signed by keys they trust). */
  readonly signKey?: KeyObject;
  readonly jobKey?: string;
}

const UNREGISTERED_FIX =
  'submit it with `swarmlet run --redis … <job>` first so its bundle is registered, or send { "jobFile": "<a job file on the director\'s machine>" }';

/**
 * Submits a job the way `swarmlet run --redis` does (storeModules, then the SUBMIT append), without waiting for it:
 * bad input and task types with no bundle in the cluster are refused naming the field; a job admission control would
 * refuse is refused before it is logged. Returns the job key.
 */
export async function submitJob(
  redis: Redis,
  k: ClusterKeys,
  modules: ModuleRecords,
  rawJob: unknown,
  options: SubmitOptions,
  refusal: (job: Job) => Extract<AdmissionDecision, { admitted: false }> | undefined,
): Promise<string> {
  const job = parseJob(rawJob);
  const types = typesOf(job);
  const registered =
    options.taskPaths === undefined
      ? undefined
      : await storeModules(redis, k, options.taskPaths, options.cacheDir ?? '.swarmlet/cache', options.signKey);
  for (const [field, taskType] of types) {
    const known = registered ? registered.includes(taskType) : (await modules.fetch(taskType)) !== undefined;
    if (!known)
      throw new InputError(
        field,
        `task type "${taskType}" has no bundle registered in this cluster${registered ? ` (the job file's tasks define ${registered.join(', ')})` : ''}`,
        registered ? `use one of: ${registered.join(', ')}` : UNREGISTERED_FIX,
      );
  }
  const refused = refusal(job);
  if (refused) throw new AdmissionError(refused.reason, refused.retryAfterMs);
  const jobKey = options.jobKey ?? randomUUID();
  const names = registered ?? [...new Set(types.values())];
  const { standing } = await appendJob(redis, k, { kind: 'job', jobKey, job, modules: names });
  if (standing !== '')
    throw new InputError('jobKey', `job key ${jobKey} already ran and ended`, 'submit it with a new key');
  return jobKey;
}

/** Each task type the job names, by the field naming it (`job.type`, `job.tasks[3].type`). */
function typesOf(job: Job): Map<string, string> {
  if (!('tasks' in job)) return new Map([['job.type', job.type]]);
  const byField = new Map<string, string>();
  const seen = new Set<string>();
  job.tasks.forEach((task, i) => {
    if (seen.has(task.type)) return;
    seen.add(task.type);
    byField.set(`job.tasks[${i}].type`, task.type);
  });
  return byField;
}

/** Compares stream ids (`<ms>-<seq>`). */
function streamIdAtLeast(id: string, than: string): boolean {
  const [ms = 0, seq = 0] = id.split('-').map(Number);
  const [thanMs = 0, thanSeq = 0] = than.split('-').map(Number);
  return ms > thanMs || (ms === thanMs && seq >= thanSeq);
}

/** Callers waiting until the director applied a log entry of theirs (a cancel), by entry id. */
export class JobCancels {
  private waiting: { id: string; resolve: () => void; reject: (error: Error) => void }[] = [];

  /** Resolves once the entry `id` is applied (`last()`: the last entry applied). */
  until(id: string, last: () => string): Promise<void> {
    if (streamIdAtLeast(last(), id)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ id, resolve, reject }));
  }

  applied(lastId: string): void {
    if (this.waiting.length === 0) return;
    const done = this.waiting.filter((w) => streamIdAtLeast(lastId, w.id));
    this.waiting = this.waiting.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }

  /** The director stopped: the entries stay in the log (the next director applies them); the callers hear so. */
  stopped(): void {
    for (const w of this.waiting)
      w.reject(new Error('the director stopped before applying it; the next director applies it from the log'));
    this.waiting = [];
  }
}

/** What cancelling a job through the log reads and writes. */
export interface CancelParts {
  readonly redis: Redis;
  readonly k: Pick<ClusterKeys, 'log' | 'job'>;
  readonly book: Pick<JobBook, 'running' | 'ended'>;
  readonly cancels: JobCancels;
  /** The last log entry the director applied. */
  readonly lastLogId: () => string;
}

/**
 * Cancels a running job through the log (so a replay cancels it too): resolves once the director applied it, with
 * the job's state then; `undefined` for a key it knows nothing of.
 */
export async function cancelJob(
  parts: CancelParts,
  jobKey: string,
  reason: string,
): Promise<'cancelled' | 'done' | 'failed' | undefined> {
  const { redis, k, book } = parts;
  if (book.running(jobKey)) {
    const entry: LogEntry = { kind: 'cancel', jobKey, reason };
    const id = await redis.xadd(k.log, '*', 'e', JSON.stringify(entry));
    await parts.cancels.until(id!, parts.lastLogId);
  }
  const ended = book.ended.find(jobKey);
  if (ended) return ended.state === 'running' ? undefined : ended.state;
  const key = k.job(jobKey);
  const status = parseStoredOr(jobOutcomeSchema, await redis.get(key), key)?.status;
  return status === 'refused' ? 'failed' : status;
}

/** A stored value, or undefined when it is missing or does not parse (a report, not a step that must succeed). */
function parseStoredOr<T>(schema: z.ZodType<T>, raw: string | null, key: string): T | undefined {
  try {
    return parseStored(schema, raw, key);
  } catch {
    return undefined;
  }
}
