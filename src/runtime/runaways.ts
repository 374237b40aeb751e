import type { Broker } from './brokers/broker.js';
import type { Dispatcher } from './dispatcher.js';
import { isolateRunaway, watchRunaways, type HardLimits } from './hard-limits.js';
import type { MicroTask } from './jobs/micro-task.js';
import type { Provider } from './provider.js';
import type { RunRecords } from './run-records.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import type { UsageTracker } from './usage-tracker.js';

/** What the runaway watch reads and acts on. */
export interface RunawayParts {
  readonly swarmlets: ReadonlyMap<string, SwarmletRecord>;
  readonly taskOf: (id: number) => MicroTask | undefined;
  readonly usage: UsageTracker;
  readonly hardLimits: HardLimits;
  readonly provider: Provider;
  readonly kill: (swarmletId: string, reason: string) => void;
  readonly broker: Broker;
  readonly dispatcher: Dispatcher;
  readonly records: RunRecords;
  readonly startedAtMs: () => number;
}

/** Runaway micro-tasks, seen while they run: their swarmlet isolated, what it had queued moved to others. */
export class Runaways {
  constructor(private readonly parts: RunawayParts) {}

  /**
   * Each busy swarmlet's running micro-task against its type's predicted duration (anomaly detection while it runs).
   * Returns what isolated runaways had queued (to requeue): a tick without any goes on without waiting.
   */
  watch(nowMs: number): number[] {
    const parts = this.parts;
    const moved: number[] = [];
    watchRunaways(
      parts.swarmlets.values(),
      parts.taskOf,
      parts.usage,
      nowMs,
      parts.startedAtMs(),
      parts.hardLimits.onRunaway,
      parts.kill,
      (swarmlet, runningId) => {
        const ids = isolateRunaway(swarmlet, runningId, (swarmletId, taskIds) =>
          parts.provider.drop(swarmletId, taskIds),
        );
        parts.records.faults.push({
          atMs: nowMs - parts.startedAtMs(),
          swarmletId: swarmlet.id,
          detail: `isolated with runaway micro-task ${parts.taskOf(runningId)?.label ?? runningId}`,
          requeued: ids.length,
        });
        moved.push(...ids);
      },
    );
    return moved;
  }

  /** What isolated runaways had queued behind them goes back to the broker, for other swarmlets. */
  async requeue(moved: number[]): Promise<void> {
    for (const id of moved) this.parts.usage.forget(id);
    await this.parts.broker.requeue(moved);
    for (const id of moved) this.parts.dispatcher.requeued(id);
  }
}
