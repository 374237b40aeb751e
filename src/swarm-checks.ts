import { constants } from 'node:fs';
import { access, lstat, mkdir, realpath, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { z } from 'zod';
import type { Timers } from './core/environment.js';
import { InputError, type FixValue } from './core/errors.js';
import { fieldPath, previewValue } from './core/json-input.js';
import { fixText, valueAt } from './core/job-fixes.js';
import type { Job } from './core/job.js';
import { wallEnvironment } from './runtime/local/wall-environment.js';

const FIELD = 'Swarm options';

/**
 * A Swarm option that failed its schema: the field, the bad value and the fix, which for a
 * top-level option is its default (or, for one without a default, leaving it out).
 */
export function optionsError(issues: readonly z.core.$ZodIssue[], raw: unknown, defaults: object): InputError {
  const issue = issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = fieldPath(FIELD, issue.keys[0]!);
    return new InputError(
      field,
      `is not a known option (unknown: ${issue.keys.join(', ')})`,
      fixText(field, 'remove'),
      'remove',
    );
  }
  const [top, ...rest] = issue.path;
  if (top === undefined) {
    const fixValue = { value: { tasks: ['./my-task.ts'] } };
    return new InputError(FIELD, `${issue.message} (got ${previewValue(raw)})`, fixText(FIELD, fixValue), fixValue);
  }
  const field = issue.path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : fieldPath(name, String(key))),
    FIELD,
  );
  const got = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined ? 'is missing' : issue.message;
  const problem = `${got}${got === 'is missing' ? '' : ` (got ${previewValue(valueAt(raw, issue.path))})`}`;
  // Options nested deeper (a policy's split, admission limits) are fixed as a whole: by the option's default.
  const fixField = rest.length === 0 || top !== 'tasks' ? fieldPath(FIELD, String(top)) : field;
  const fixValue: FixValue | undefined =
    top === 'tasks'
      ? rest.length === 1
        ? 'remove'
        : undefined
      : String(top) in defaults
        ? { value: (defaults as Record<string, unknown>)[String(top)] }
        : 'remove';
  const fix =
    fixValue === undefined ? issue.message : `${fixText(fixField, fixValue)} (see the Swarm options in README.md)`;
  return new InputError(fixField, problem, fix, fixValue);
}

export const POLICY_EXPECTED =
  "expected 'adaptive', { static: { type: count } } or a Policy: { name: string, initialState(), decide(state, snapshot) }";

/** A Policy object as the control loop calls it (its methods are called every tick: check them before the first). */
export function isPolicyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const policy = value as Record<string, unknown>;
  return (
    typeof policy.name === 'string' &&
    policy.name.length > 0 &&
    typeof policy.initialState === 'function' &&
    typeof policy.decide === 'function'
  );
}

/**
 * A static split runs only the swarmlets it lists, and never more than `maxSwarmlets` of them: a split over the limit
 * would leave the types past it waiting forever. (A type it leaves out, or gives 0, is refused with the first job
 * that needs it: `checkJobAgainstSplit`.)
 */
export function checkStaticSplit(
  split: Readonly<Record<string, number>>,
  taskTypes: readonly string[],
  maxSwarmlets: number,
): void {
  const field = `${FIELD}.policy.static`;
  for (const type of Object.keys(split)) {
    if (!taskTypes.includes(type))
      throw new InputError(
        fieldPath(field, type),
        'is not a loaded task type',
        `use one of: ${taskTypes.join(', ')}`,
        'remove',
      );
  }
  const total = Object.values(split).reduce((sum, count) => sum + count, 0);
  if (total > maxSwarmlets)
    throw new InputError(
      `${FIELD}.maxSwarmlets`,
      `${maxSwarmlets} is fewer than the static split's ${total} swarmlets: the types past the limit would never run`,
      `give maxSwarmlets ${total}, or lower the split's counts`,
      { value: total },
    );
}

/**
 * Under a static split, a job with a micro-task of a type the split gives no swarmlet would wait forever: refuse it,
 * naming the split's entry (that is what to fix) and the micro-task that needs it.
 */
export function checkJobAgainstSplit(job: Job, split: Readonly<Record<string, number>>): void {
  const nodes = 'tasks' in job ? job.tasks : [{ type: job.type }];
  const at = nodes.findIndex((node) => !((split[node.type] ?? 0) > 0));
  if (at < 0) return;
  const type = nodes[at]!.type;
  const needs = 'tasks' in job ? `job.tasks[${at}]` : 'job';
  throw new InputError(
    fieldPath(`${FIELD}.policy.static`, type),
    `${split[type] === undefined ? 'is missing' : 'is 0'}, and ${needs} is a ${type} micro-task: it would never run`,
    `give ${type} at least 1 swarmlet (${type}=1)`,
    { value: 1 },
  );
}

/**
 * Why a micro-task of `taskType` made while a job runs (by a split) can never run under this fixed
 * split, or undefined when it can.
 */
export function splitRefusal(split: Readonly<Record<string, number>>, taskType: string): InputError | undefined {
  if ((split[taskType] ?? 0) > 0) return undefined;
  return new InputError(
    fieldPath(`${FIELD}.policy.static`, taskType),
    `${split[taskType] === undefined ? 'is missing' : 'is 0'}, and a split made a ${taskType} micro-task: it would never run`,
    `give ${taskType} at least 1 swarmlet (${taskType}=1)`,
    { value: 1 },
  );
}

/** How long the cache directory check may take: a file system that does not answer in time is refused. */
const CACHE_DIR_CHECK_MS = 5_000;

/**
 * The cache directory must be one we can create and write: say so before compiling into it. Bounded in time, and
 * made one level at a time (Node's recursive mkdir never returns under /proc); kernel file systems are refused.
 */
export async function checkCacheDir(
  directory: string,
  field: string,
  timers: Timers = wallEnvironment.timers,
): Promise<void> {
  let cancel: (() => void) | undefined;
  const late = new Promise<string>((resolve) => {
    cancel = timers.after(CACHE_DIR_CHECK_MS, () => resolve(`did not answer within ${CACHE_DIR_CHECK_MS / 1000} s`));
  });
  const why = await Promise.race([cacheDirProblem(directory), late]).finally(() => cancel?.());
  if (why === undefined) return;
  throw new InputError(
    field,
    `${JSON.stringify(directory)} ${why}: compiled task modules are kept there`,
    'give a directory you can write, e.g. .swarmlet/cache',
    { value: '.swarmlet/cache' },
  );
}

/** Why `directory` (absolute) cannot hold the cache, or undefined once it exists and can be written. */
async function cacheDirProblem(directory: string): Promise<string | undefined> {
  try {
    const missing: string[] = [];
    let base = directory;
    for (; !(await isPresent(base)); base = dirname(base)) missing.unshift(base);
    const kernel = await kernelFileSystem(await realpath(base));
    if (kernel !== undefined) return `is on ${kernel}, a kernel file system, not a place for files`;
    for (const path of missing) await makeDirectory(path);
    if (!(await stat(directory)).isDirectory()) return 'is a file (or under one), not a directory';
    await access(directory, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') return 'is a file (or under one), not a directory';
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'cannot be written';
    return `cannot be used (${(error as Error).message})`;
  }
}

/** One level, never recursive; one made meanwhile by another process is fine. */
async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(path)).isDirectory()) throw error;
  }
}

async function isPresent(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** statfs magic numbers of Linux's virtual file systems (linux/magic.h). */
const KERNEL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpffs'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0x65735543, 'fusectl'],
]);

/** The kernel file system `path` (real, existing) is on, or undefined; /dev holds devices (but /dev/shm is tmpfs). */
async function kernelFileSystem(path: string): Promise<string | undefined> {
  if ((path === '/dev' || path.startsWith('/dev/')) && !/^\/dev\/shm(\/|$)/.test(path)) return 'the /dev device tree';
  if (process.platform !== 'linux') return undefined;
  return KERNEL_FILE_SYSTEMS.get((await statfs(path)).type);
}

/** The history file must be a file whose directory exists or can be made: else nothing is kept, silently. */
export async function checkHistoryFile(file: string, field: string): Promise<void> {
  const why = await historyFileProblem(file);
  if (why === undefined) return;
  throw new InputError(
    field,
    `${JSON.stringify(file)} ${why}: no history could be kept there`,
    'give a file in a directory you can write, e.g. .swarmlet/history.json, or leave it out',
    'remove',
  );
}

async function historyFileProblem(file: string): Promise<string | undefined> {
  const found = await stat(file).catch((error: NodeJS.ErrnoException) => error);
  if (!(found instanceof Error)) return found.isFile() ? undefined : 'is a directory (or not a regular file)';
  if (found.code === 'ENOTDIR') return 'is under something that is not a directory';
  if (found.code !== 'ENOENT') return `cannot be read (${found.message})`;
  let base = dirname(file);
  while (!(await isPresent(base).catch(() => true))) base = dirname(base);
  const parent = await stat(base).catch(() => undefined);
  if (!parent?.isDirectory()) return 'is under something that is not a directory';
  const kernel = await kernelFileSystem(await realpath(base));
  return kernel === undefined ? undefined : `is on ${kernel}, a kernel file system, not a place for files`;
}
