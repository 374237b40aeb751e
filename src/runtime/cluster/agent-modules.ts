/**
 * Task-type bundles from Redis (`P:module:<type>`), written once per hash to
 * `<cacheDir>/cluster/<hash>.mjs`, so an agent needs no copy of the job's code. The file name is
 * the content hash: agents sharing a cache directory write the same bytes, through a temporary file
 * and a rename, so a swarmlet never imports a half-written module. Bundles keep npm packages as
 * imports: they resolve from the node_modules above the cache directory.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { keys, moduleRecordSchema, parseStored } from './protocol.js';

export interface LocalModule {
  readonly taskType: string;
  readonly hash: string;
  readonly modulePath: string;
  readonly hintDurationMs: number | undefined;
}

const SAFE_HASH = /^[A-Za-z0-9_-]{1,128}$/;

export class ModuleCache {
  private readonly directory: string;
  private readonly written = new Set<string>();
  private readonly hints = new Map<string, number | undefined>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    cacheDir: string,
  ) {
    this.directory = resolve(cacheDir, 'cluster');
  }

  /**
   * The type's current bundle on disk; undefined while the director has not published it. Throws on a malformed record.
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
    const modulePath = join(this.directory, `${record.hash}.mjs`);
    if (!this.written.has(record.hash)) {
      if (!existsSync(modulePath)) {
        await mkdir(this.directory, { recursive: true });
        const temporary = `${modulePath}.${process.pid}.tmp`;
        await writeFile(temporary, record.code);
        await rename(temporary, modulePath);
      }
      this.written.add(record.hash);
    }
    this.hints.set(taskType, record.hintDurationMs);
    return { taskType, hash: record.hash, modulePath, hintDurationMs: record.hintDurationMs };
  }

  /** The director's duration hint for a type, from its module record (until measurements exist). */
  hintDurationMs(taskType: string): number | undefined {
    return this.hints.get(taskType);
  }
}
