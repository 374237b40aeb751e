import type { SwarmletRecord } from './swarmlet-record.js';

/**
 * Loads that kill their swarmlet or never finish (an import or `warmup` that crashes, hangs, or
 * outgrows the memory limit). Nothing runs while a swarmlet loads, so no micro-task pays for it:
 * counted per task type instead, a type whose loads keep failing fails the jobs that need it
 * rather than being retried for ever. A crash counts 1 and a timed-out load 2 against a budget of
 * 2 × maxAttempts, in a row: any load of the type that succeeds starts the count over, so swarmlets
 * killed from outside now and then (a crash of the machine's, an operator's kill -9) never add up.
 */
export class LoadWatch {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly maxAttempts: number,
    readonly timeoutMs: number,
  ) {}

  /** A load of `taskType` finished: its count starts over. */
  loaded(taskType: string): void {
    this.failures.delete(taskType);
  }

  /** A swarmlet died loading `taskType` (timedOut: we stopped it); true once the type used up its budget. */
  failed(taskType: string, timedOut: boolean): boolean {
    const count = (this.failures.get(taskType) ?? 0) + (timedOut ? 2 : 1);
    if (count < 2 * this.maxAttempts) {
      this.failures.set(taskType, count);
      return false;
    }
    this.failures.delete(taskType);
    return true;
  }

  /** Swarmlets loading their type for longer than the timeout. */
  overdue(swarmlets: Iterable<SwarmletRecord>, nowMs: number): SwarmletRecord[] {
    const late: SwarmletRecord[] = [];
    for (const swarmlet of swarmlets) {
      if (!isLoading(swarmlet) || swarmlet.limitCulprit !== undefined) continue;
      if (nowMs - swarmlet.stateSinceMs > this.timeoutMs) late.push(swarmlet);
    }
    return late;
  }
}

/** Starting, or warming (its type's module loading and its warmup running). */
export function isLoading(swarmlet: SwarmletRecord): boolean {
  return swarmlet.state === 'starting' || swarmlet.state === 'warming';
}
