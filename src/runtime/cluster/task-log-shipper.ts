/**
 * What an agent's swarmlets print, shipped to Redis so the director's API can answer `GET /api/logs` for the whole
 * cluster: per swarmlet the list `P:tasklog:s:<id>` (its last 200 lines) and per micro-task
 * `P:tasklog:t:<jobKey>:<label>` (its last 50), oldest first, each expiring an hour after its last line.
 *
 * Bounded and off the work path: lines wait in a bounded buffer (the oldest dropped, and counted, when it is full) and
 * go out every `flushMs` in one pipeline, one flush at a time; a slow or stopped Redis only costs lines, never a wait
 * of the agent's work. A batch sends each key only the lines its trim would keep, so a task printing 10,000 lines
 * between flushes costs Redis at most the kept lines. Only what tasks print goes there (each line already cut to 4096
 * chars by the host), nothing of the agent's own.
 */
import type { Redis } from 'ioredis';
import type { Timers } from '../../core/environment.js';
import type { TaskLogLine } from '../task-log-book.js';
import type { ClusterKeys } from './protocol.js';

export interface TaskLogShipping {
  readonly linesPerSwarmlet: number;
  readonly linesPerMicroTask: number;
  /** Lines waiting for a flush at most; past it the oldest are dropped. */
  readonly bufferLines: number;
  /** A key unwritten this long expires (its swarmlet or micro-task is long gone). */
  readonly ttlMs: number;
  readonly flushMs: number;
}

export const DEFAULT_TASK_LOG_SHIPPING: TaskLogShipping = {
  linesPerSwarmlet: 200,
  linesPerMicroTask: 50,
  bufferLines: 1_000,
  ttlMs: 3_600_000,
  flushMs: 500,
};

export interface TaskLogShipperOptions {
  readonly redis: Redis;
  readonly keys: ClusterKeys;
  readonly timers: Timers;
  /** A rate-limited warning (the agent's WarningLimiter): lines dropped, a flush refused. */
  readonly warn: (topic: string, line: string) => void;
  readonly shipping?: Partial<TaskLogShipping>;
}

/** A key's lines in one flush: only the last `keep` are sent. */
interface KeyBatch {
  readonly keep: number;
  readonly records: string[];
}

export class TaskLogShipper {
  private readonly shipping: TaskLogShipping;
  /** Waiting lines from `start` on (the array is compacted now and then, so dropping the oldest is O(1)). */
  private waiting: TaskLogLine[] = [];
  private start = 0;
  private flushing: Promise<void> | undefined;
  private readonly cancel: () => void;
  /** Lines that never reached Redis (buffer full, or a flush that failed), and lines sent. */
  dropped = 0;
  shipped = 0;

  constructor(private readonly options: TaskLogShipperOptions) {
    this.shipping = { ...DEFAULT_TASK_LOG_SHIPPING, ...options.shipping };
    this.cancel = options.timers.every(this.shipping.flushMs, () => this.tick());
  }

  /** A printed line, attributed (taskLogLine): sent with the next flush unless newer lines push it out first. */
  add(line: TaskLogLine): void {
    if (this.waiting.length - this.start >= this.shipping.bufferLines) {
      this.start += 1;
      this.lost(
        1,
        'buffer',
        `more than ${this.shipping.bufferLines} waited for a flush (Redis slow, or tasks printing fast)`,
      );
    }
    this.waiting.push(line);
    if (this.start >= this.shipping.bufferLines) {
      this.waiting = this.waiting.slice(this.start);
      this.start = 0;
    }
  }

  /** Lines waiting for a flush. */
  get buffered(): number {
    return this.waiting.length - this.start;
  }

  /** No more flushes on the timer; what waits is sent once, within `boundMs` (Redis may be gone). */
  async stop(boundMs: number): Promise<void> {
    this.cancel();
    let cancelBound: (() => void) | undefined;
    const bound = new Promise<void>((resolve) => (cancelBound = this.options.timers.after(boundMs, resolve)));
    await Promise.race([this.flush(), bound]);
    cancelBound?.();
  }

  /** Sends what waits now, after any flush under way. Never rejects (a failure is counted and said). */
  async flush(): Promise<void> {
    await this.flushing;
    this.tick();
    await this.flushing;
  }

  private tick(): void {
    if (this.flushing !== undefined || this.buffered === 0) return;
    this.flushing = this.send().finally(() => (this.flushing = undefined));
  }

  /** One pipeline: per key RPUSH the lines its trim keeps, LTRIM, PEXPIRE. Never rejects. */
  private async send(): Promise<void> {
    const lines = this.waiting.slice(this.start);
    this.waiting = [];
    this.start = 0;
    const { ttlMs } = this.shipping;
    const batches = this.batches(lines);
    const pipeline = this.options.redis.pipeline();
    for (const [key, { keep, records }] of batches)
      pipeline
        .rpush(key, ...records.slice(-keep))
        .ltrim(key, -keep, -1)
        .pexpire(key, ttlMs);
    try {
      const replies = (await pipeline.exec()) ?? [];
      const failed = [...batches.keys()].filter((_, i) => replies[i * 3]?.[0]);
      if (failed.length > 0) await this.repair(failed, replies.find(([error]) => error)![0]!);
      this.shipped += lines.length;
    } catch (error) {
      this.lost(lines.length, 'flush', `Redis refused them: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The lines of each swarmlet and of each micro-task, serialized once. */
  private batches(lines: readonly TaskLogLine[]): Map<string, KeyBatch> {
    const { keys } = this.options;
    const batches = new Map<string, KeyBatch>();
    const add = (key: string, keep: number, record: string) => {
      let batch = batches.get(key);
      if (batch === undefined) batches.set(key, (batch = { keep, records: [] }));
      batch.records.push(record);
    };
    for (const line of lines) {
      const record = JSON.stringify(line);
      add(keys.taskLogOfSwarmlet(line.swarmletId), this.shipping.linesPerSwarmlet, record);
      if (line.microTaskId !== undefined)
        add(keys.taskLogOfMicroTask(line.microTaskId), this.shipping.linesPerMicroTask, record);
    }
    return batches;
  }

  /**
   * Keys the RPUSH failed on: one of another Redis type (some Redis user wrote it) is deleted, so the next lines make
   * it a list again; those lines are lost, and said.
   */
  private async repair(failed: readonly string[], error: Error): Promise<void> {
    if (/WRONGTYPE/.test(error.message)) await this.options.redis.del(...failed);
    this.options.warn(
      `tasklog:${failed[0]}`,
      `warning: task logs: ${failed.length} key(s) refused printed lines (${failed[0]}: ${error.message})${/WRONGTYPE/.test(error.message) ? '; deleted, the next lines make them lists again' : ''}`,
    );
  }

  private lost(count: number, topic: string, why: string): void {
    this.dropped += count;
    this.options.warn(
      `tasklog:${topic}`,
      `warning: task logs: printed lines not shipped to Redis (${this.dropped} so far): ${why}`,
    );
  }
}
