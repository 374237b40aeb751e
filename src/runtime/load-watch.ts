import type { SwarmletRecord } from './swarmlet-record.js';

/**
 * Loads that kill their swarmlet or never finish (an import or `warmup` that crashes, hangs, or
 * outgrows the memory limit). Nothing runs while a swarmlet loads, so no micro-task pays for it:
 * counted per task type instead, a type whose loads keep failing fails the jobs that need it
 * rather than being retried for ever. A crash counts 1 and a timed-out load 2, in a row: any load
 * of the type that succeeds starts the count over. The budget is 2 × maxAttempts for a type that
 * never loaded in this swarm, and 10 × maxAttempts for one that did (it can load: swarmlets killed
 * from outside while loading, as a chaos run or a busy machine does, must not add up to a verdict).
 */
export class LoadWatch {
  private readonly failures = new Map<string, number>();
  private readonly everLoaded = new Set<string>();

  constructor(
    private readonly maxAttempts: number,
    readonly timeoutMs: number,
  ) {}

  /** A load of `taskType` finished: its count starts over. */
  loaded(taskType: string): void {
    this.failures.delete(taskType);
    this.everLoaded.add(taskType);
  }

  /** A swarmlet died loading `taskType` (timedOut: we stopped it); true once the type used up its budget. */
  failed(taskType: string, timedOut: boolean): boolean {
    const count = (this.failures.get(taskType) ?? 0) + (timedOut ? 2 : 1);
    const budget = (this.everLoaded.has(taskType) ? 10 : 2) * this.maxAttempts;
    if (count < budget) {
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
