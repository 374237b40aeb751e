/**
 * Task-type bundles from Redis (`P:module:<type>`), written once per hash to
 * `<cacheDir>/cluster/<hash>.mjs`, so an agent needs no copy of the job's code. The file name is
 * the content hash: agents sharing a cache directory write the same bytes, through a temporary file
 * and a rename, so a swarmlet never imports a half-written module. Bundles keep npm packages as
 * imports: they resolve from the node_modules above the cache directory.
 *
 * Trust: every fetch (once per bundle load: a swarmlet starting or specializing, never per
 * micro-task) verifies the record (bundle-signing.ts: signed by a trusted key, code matching its
 * hash) and the file on disk against the same hash: a file changed in the cache since it was
 * written (a trojan under a legitimate name survives FLUSHALL and restarts) is removed and refused.
 */
import { TASK_PERMISSIONS, type TaskPermission } from '../../core/task-type.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { sha256Hex, verifyBundle, type BundleTrust } from './bundle-signing.js';
import { keys, moduleRecordSchema, parseStored } from './protocol.js';

/** A bundle this agent will not run: the reason goes to the director (its jobs fail with it) and the agent's log. */
export class BundleRefusedError extends Error {
  constructor(
    readonly taskType: string,
    readonly hash: string,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`bundle of ${taskType} (${hash}) refused: ${reason}. Fix: ${fix}`);
    this.name = 'BundleRefusedError';
  }
}

export interface LocalModule {
  readonly taskType: string;
  readonly hash: string;
  readonly modulePath: string;
  readonly hintDurationMs: number | undefined;
}

function isTaskPermission(permission: string): permission is TaskPermission {
  return (TASK_PERMISSIONS as readonly string[]).includes(permission);
}

const SAFE_HASH = /^[A-Za-z0-9_-]{1,128}$/;

export class ModuleCache {
  private readonly directory: string;
  private readonly hints = new Map<string, number | undefined>();
  private readonly permissions = new Map<string, readonly TaskPermission[]>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    cacheDir: string,
    private readonly trust: BundleTrust,
  ) {
    this.directory = resolve(cacheDir, 'cluster');
  }

  /**
   * The type's current bundle on disk, verified; undefined while no client has published it. Throws on a malformed
   * record, and a BundleRefusedError for one this agent must not run.
   */
  async fetch(taskType: string): Promise<LocalModule | undefined> {
    const key = keys(this.prefix).module(taskType);
    const record = parseStored(moduleRecordSchema, await this.redis.get(key), key);
    if (record === undefined) return undefined;
    if (record.taskType !== taskType)
      throw new Error(`${key}: holds task type "${record.taskType}", expected "${taskType}"`);
    // The hash names a file: anything but a plain token could escape the cache directory.
    if (!SAFE_HASH.test(record.hash))
      throw new Error(
        `${key}: hash ${JSON.stringify(record.hash.slice(0, 40))} is not a plain token of letters, digits, - and _`,
      );
    const verdict = verifyBundle(record, this.trust);
    if (!verdict.ok) throw new BundleRefusedError(taskType, record.hash, verdict.reason, verdict.fix);
    const modulePath = join(this.directory, `${record.hash}.mjs`);
    await this.verifiedFile(taskType, record.hash, record.code, modulePath);
    this.hints.set(taskType, record.hintDurationMs);
    this.permissions.set(taskType, record.permissions.filter(isTaskPermission));
    return { taskType, hash: record.hash, modulePath, hintDurationMs: record.hintDurationMs };
  }

  /** Writes the verified code once; a file already there must hash to the same as the code, every time. */
  private async verifiedFile(taskType: string, hash: string, code: string, modulePath: string): Promise<void> {
    if (existsSync(modulePath)) {
      const onDisk = sha256Hex(await readFile(modulePath));
      if (onDisk === sha256Hex(code)) return;
      await rm(modulePath, { force: true }); // never imported; the next load writes the verified code
      throw new BundleRefusedError(
        taskType,
        hash,
        `the agent's cached file ${modulePath} does not match its hash (it hashes to ${onDisk.slice(0, 16)}): a file changed in the cache, removed`,
        'submit the job again (the agent writes the verified bundle anew) and find what writes to the cache directory',
      );
    }
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = `${modulePath}.${process.pid}.tmp`;
    await writeFile(temporary, code);
    await rename(temporary, modulePath);
  }

  /** What the verified bundle of a type asks of the sandbox (signed with it); unknown permissions are never granted. */
  permissionsOf(taskType: string): readonly TaskPermission[] {
    return this.permissions.get(taskType) ?? [];
  }

  /** The director's duration hint for a type, from its module record (until measurements exist). */
  hintDurationMs(taskType: string): number | undefined {
    return this.hints.get(taskType);
  }
}
