import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import type { Environment } from '../../core/environment.js';
import { InputError } from '../../core/errors.js';
import { WarningLimiter } from '../../core/warning-limiter.js';
import { parseJob, type JobInput } from '../../core/job.js';
import { compileTaskModule } from '../local/task-compiler.js';
import { epochEnvironment } from '../local/wall-environment.js';
import { manifestOf, signManifest } from './bundle-signing.js';
import { directorAbsence, shown } from './director-lease.js';
import { connectRedis, type RedisTls } from './redis-connect.js';
import { isWrongType, wrongLogType } from './redis-repair.js';
import {
  DEFAULT_PREFIX,
  jobKeySchema,
  jobOutcomeSchema,
  keys,
  parseStored,
  placementDecisionSchema,
  progressSchema,
  type ClusterKeys,
  type ClusterProgress,
  type JobOutcome,
  type LogEntry,
  type ModuleRecord,
  type PlacementDecisionRecord,
} from './protocol.js';

export interface ClusterRunOptions {
  readonly redisUrl: string;
  /** For a `rediss://` URL: the CA, and this client's certificate and key (PEM text). */
  readonly redisTls?: RedisTls;
  readonly prefix?: string;
  readonly cacheDir: string;
  readonly onProgress?: (progress: ClusterProgress) => void;
  /**
   * Told when no director holds the lease (at submit, or later when it stops or dies: once each time
   * it goes), with why: the job waits in the log until one starts.
   */
  readonly onNoDirector?: (reason: string) => void;
  /** With no director for this long, the wait ends with an error saying so. Default: wait (and say so). */
  readonly noDirectorTimeoutMs?: number;
  /** What the client read back and could not use (a garbled outcome or progress), once per 30 s per key. */
  readonly onWarning?: (line: string) => void;
  /** Time for the no-director bound and the warning limiter. Default: the environment's clock. */
  readonly clock?: Clock;
  /** Time and timers (the connect bound, the poll between looks at the job). Default: epoch clock, Node's timers. */
  readonly environment?: Environment;
  readonly progressEveryMs?: number;
  /**
   * Names the job so a submit can be repeated safely (a client that crashed, a retried script):
   * while the job runs, or for 24 h after it ended, the same key gets the same job's outcome
   * instead of a second run. Default: a fresh UUID.
   */
  readonly jobKey?: string;
  /** Signs each bundle's manifest (signing-keys.ts reads the file): agents run only bundles signed by trusted keys. */
  readonly signKey?: KeyObject;
}

/**
 * Appends the job unless a job with its key already ended; then that outcome stands. A refusal by
 * admission control does not stand: the key is submitted again (a new log entry, decided afresh).
 * Nor does a value no director wrote (not JSON, no status): it is replaced. Returns { the outcome
 * that stands or '', the replaced value or '' }.
 */
const SUBMIT = `
local outcome = redis.pcall('GET', KEYS[1])
local replaced = ''
if type(outcome) == 'table' then
  replaced = '(a ' .. redis.call('TYPE', KEYS[1])['ok'] .. ')'
elseif outcome then
  local ok, decoded = pcall(cjson.decode, outcome)
  local status = ok and type(decoded) == 'table' and decoded.status
  if status == 'done' or status == 'failed' or status == 'cancelled' then return {outcome, ''} end
  if status ~= 'refused' then replaced = outcome end
end
redis.call('DEL', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
return {'', replaced}`;
const WARNING_INTERVAL_MS = 30_000;

/**
 * Appends a job entry to the log unless its key already ended (SUBMIT): `standing` is that outcome's JSON ('' when
 * appended), `replaced` what was in the outcome key and was no director's outcome ('' when nothing).
 */
export async function appendJob(
  redis: Redis,
  k: ClusterKeys,
  entry: Extract<LogEntry, { kind: 'job' }>,
): Promise<{ standing: string; replaced: string }> {
  try {
    const [standing, replaced] = (await redis.eval(SUBMIT, 2, k.job(entry.jobKey), k.log, JSON.stringify(entry))) as [
      string,
      string,
    ];
    return { standing, replaced };
  } catch (error) {
    if (!isWrongType(error)) throw error;
    throw new Error(
      `${await wrongLogType(redis, k)}: the job cannot be submitted. Fix: check --prefix; if it is right, the cluster's keys were overwritten: stop the director, delete ${k.log} and start it again`,
    );
  }
}

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
  const { timers } = options.environment ?? epochEnvironment;
  const redis = await connectRedis(options.redisUrl, undefined, '--redis', options.redisTls, timers);
  const listener = await connectRedis(options.redisUrl, undefined, '--redis', options.redisTls, timers).catch(
    async (error: unknown) => {
      await redis.quit();
      throw error;
    },
  );
  try {
    const modules = await storeModules(redis, k, taskPaths, options.cacheDir, options.signKey);
    await listener.subscribe(k.jobDone);
    let ended = false;
    const done = new Promise<void>((resolve) =>
      listener.on('message', (_channel, key: string) => key === jobKey && resolve(void (ended = true))),
    );
    const entry = { kind: 'job' as const, jobKey, job, modules };
    const waiting = new JobWait(redis, k, jobKey, options);
    // Atomic with the outcome check: a key that already ended is answered, never logged again
    // (the director forgets keys whose log entries were trimmed; the outcome outlives them).
    await waiting.submit(entry);
    for (;;) {
      const outcome = await waiting.outcome(ended);
      if (outcome) return { jobKey, outcome, decisions: await latestDecisions(redis, k, DECISIONS_SHOWN) };
      await waiting.progress();
      await waiting.checkDirector();
      // Kept alive: the client's whole process may be this wait.
      let cancel: (() => void) | undefined;
      const poll = new Promise<void>((resolve) => {
        cancel = timers.after(options.progressEveryMs ?? 200, resolve, { keepAlive: true });
      });
      await Promise.race([done, poll]);
      cancel?.();
    }
  } finally {
    listener.disconnect();
    await redis.quit();
  }
}

/**
 * A client waiting for its job: what it reads back is checked (a garbled progress is skipped, a
 * garbled outcome waited past until the job ends), and a director that is not there is said.
 */
class JobWait {
  private readonly warnings: WarningLimiter;
  private readonly clock: Clock;
  /** Since when no director holds the lease (undefined while one does). */
  private absentSinceMs: number | undefined;
  private seenDirector = false;

  constructor(
    private readonly redis: Redis,
    private readonly k: ClusterKeys,
    private readonly jobKey: string,
    private readonly options: ClusterRunOptions,
  ) {
    this.clock = options.clock ?? (options.environment ?? epochEnvironment).clock;
    this.warnings = new WarningLimiter(this.clock, WARNING_INTERVAL_MS, options.onWarning ?? (() => undefined));
  }

  async submit(entry: Extract<LogEntry, { kind: 'job' }>): Promise<void> {
    const key = this.k.job(this.jobKey);
    const { replaced } = await appendJob(this.redis, this.k, entry);
    if (replaced !== '')
      this.warnings.warn(key, `${key} held ${shown(replaced)}, not a job's outcome: replaced by this submit`);
    await this.checkDirector();
  }

  /** The job's outcome once written; a garbled one is waited past, unless the job has ended (then it is the answer). */
  async outcome(ended: boolean): Promise<JobOutcome | undefined> {
    const key = this.k.job(this.jobKey);
    try {
      return parseStored(jobOutcomeSchema, await this.redis.get(key), key);
    } catch (error) {
      const message = (error as Error).message;
      if (ended)
        throw new Error(
          `${message}: the job ended but its outcome is unreadable. Fix: submit it again with a new --job-key`,
        );
      this.warnings.warn(key, `${message}: not a job's outcome; waiting for the director's`);
      return undefined;
    }
  }

  async progress(): Promise<void> {
    const key = this.k.progress(this.jobKey);
    try {
      const progress = parseStored(progressSchema, await this.redis.get(key), key);
      if (progress) this.options.onProgress?.(progress);
    } catch (error) {
      this.warnings.warn(key, `${(error as Error).message}: progress not shown`);
    }
  }

  /** Says when the director goes (once per absence); past `noDirectorTimeoutMs` of absence, throws. */
  async checkDirector(): Promise<void> {
    const absence = await directorAbsence(this.redis, this.k.director);
    const nowMs = this.clock.nowMs();
    if (absence === undefined) {
      this.absentSinceMs = undefined;
      this.seenDirector = true;
      return;
    }
    if (this.absentSinceMs === undefined) {
      this.absentSinceMs = nowMs;
      this.options.onNoDirector?.(
        this.seenDirector
          ? `the director stopped (${absence})`
          : `no director is running on this Redis yet (${absence})`,
      );
    }
    const bound = this.options.noDirectorTimeoutMs;
    if (bound !== undefined && nowMs - this.absentSinceMs >= bound)
      throw new Error(
        `no director is running on this Redis (prefix ${this.options.prefix ?? DEFAULT_PREFIX}) after ${bound} ms: ${absence}. Fix: start one (swarmlet serve --redis <url>); the job stays in the log and runs once one starts`,
      );
  }
}

const DECISIONS_SHOWN = 5;

/** The latest placement auctions, newest first (bad entries are skipped: they are only a report). */
export async function latestDecisions(
  redis: Redis,
  k: ReturnType<typeof keys>,
  count: number,
): Promise<PlacementDecisionRecord[]> {
  let raw: string[];
  try {
    raw = await redis.lrange(k.decisions, 0, count - 1);
  } catch (error) {
    if (isWrongType(error)) return []; // the director repairs the key at its next auction
    throw error;
  }
  return raw.flatMap((text) => {
    try {
      return [parseStored(placementDecisionSchema, text, k.decisions)!];
    } catch {
      return [];
    }
  });
}

/**
 * Compiles each task module and stores its bundle under `P:module:<type>`, signed with `signKey` when given (once per
 * bundle, at submit); returns the type names.
 */
export async function storeModules(
  redis: Redis,
  k: ReturnType<typeof keys>,
  taskPaths: readonly string[],
  cacheDir: string,
  signKey?: KeyObject,
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
      permissions: [...info.permissions], // signed with the rest: an agent grants what the signer declared
    };
    if (signKey !== undefined) record.signature = signManifest(manifestOf(record), signKey);
    await redis.set(k.module(info.name), JSON.stringify(record));
    names.push(info.name);
  }
  return names;
}
