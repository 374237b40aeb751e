import { TaskModuleError } from '../core/errors.js';
import type { Broker } from './brokers/broker.js';
import type { Dispatcher } from './dispatcher.js';
import { culpritOf } from './hard-limits.js';
import { jobsNeeding } from './jobs/job-blame.js';
import type { JobTracker } from './jobs/job-tracker.js';
import type { TaskTypeInfo } from './local/task-compiler.js';
import { isLoading, type LoadWatch } from './load-watch.js';
import type { NodeReservations } from './node-reservations.js';
import type { PendingJobs } from './pending-jobs.js';
import type { Provider } from './provider.js';
import type { RunRecords } from './run-records.js';
import type { SwarmletPool } from './swarmlet-pool.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import type { UsageTracker } from './usage-tracker.js';

/** How the swarmlet host words a `restore` that threw (swarmlet-host.ts). */
const RESTORE_FAILED = 'restore(state) failed';

/** What a swarmlet's failure touches: the pool and queue it leaves, the jobs it fails, and how they settle. */
export interface FailureParts {
  readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>;
  readonly provider: Provider;
  readonly pending: PendingJobs;
  readonly tracker: JobTracker;
  readonly broker: Broker;
  readonly dispatcher: Dispatcher;
  readonly usage: UsageTracker;
  readonly reservations: NodeReservations;
  readonly pool: SwarmletPool;
  readonly swarmlets: Map<string, SwarmletRecord>;
  readonly records: RunRecords;
  readonly loads: LoadWatch;
  readonly maxSwarmlets: number;
  readonly startedAtMs: () => number;
  /** Settles the jobs the tracker ended. */
  readonly settleJobs: () => void;
}

/**
 * A swarmlet that exited (asked to, or crashed): its micro-tasks requeued or charged, and a crashed one replaced; a
 * type that failed to load: its jobs failed.
 */
export class SwarmletFailures {
  constructor(private readonly parts: FailureParts) {}

  async exited(swarmletId: string, atMs: number, detail: string, lastStarted?: number | null): Promise<void> {
    const parts = this.parts;
    const { tracker, dispatcher } = parts;
    const swarmlet = parts.swarmlets.get(swarmletId);
    if (!swarmlet || swarmlet.state === 'stopped') return;
    const orphans = [...swarmlet.inFlight];
    const wasLoading = isLoading(swarmlet) && swarmlet.stopReason === undefined;
    const timedOut = swarmlet.limitCulprit === -1;
    swarmlet.inFlight.clear();
    for (const id of orphans) parts.usage.forget(id);
    // Only the micro-task that was running can have caused the exit: it pays an attempt; those
    // queued behind it never started and go back for free.
    const culprit = culpritOf(orphans, lastStarted, swarmlet.limitCulprit);
    const innocents = orphans.filter((id) => id !== culprit);
    await parts.broker.requeue(innocents);
    for (const id of innocents) dispatcher.requeued(id);
    swarmlet.transition('stopped', atMs);
    parts.reservations.release(swarmletId, atMs);
    parts.swarmlets.delete(swarmletId);
    parts.pool.states.forget(swarmletId);
    parts.records.keepStopped(swarmlet);
    if (swarmlet.stopReason === undefined || orphans.length > 0) {
      const charged = culprit === undefined ? undefined : (tracker.tasks.get(culprit)?.label ?? `${culprit}`);
      const fault = { atMs: atMs - parts.startedAtMs(), swarmletId, detail, requeued: orphans.length };
      parts.records.faults.push(charged === undefined ? fault : { ...fault, charged });
    }
    if (culprit !== undefined)
      await dispatcher.retryOrFail([culprit], {
        message: `swarmlet ${swarmletId} ${detail} while running it`,
      });
    if (wasLoading && parts.loads.failed(swarmlet.taskType, timedOut))
      this.failType(swarmlet.taskType, `its swarmlets keep dying while loading it (last: ${detail})`);
    parts.settleJobs();
    if (swarmlet.stopReason === undefined) this.replaceCrashed(swarmlet, detail, atMs);
    await dispatcher.pump();
  }

  /**
   * A swarmlet that died unplanned is replaced at once (from a spare process: a module load, not a
   * fork) while its type has work waiting, instead of at the policy's next tick: the pool the policy
   * chose is restored, and the replacement is logged as a `replicate` with its reason.
   */
  private replaceCrashed(crashed: SwarmletRecord, detail: string, atMs: number): void {
    const taskType = crashed.taskType;
    const live = [...this.parts.swarmlets.values()].filter((s) => s.state !== 'stopped').length;
    if ((this.parts.dispatcher.queued.get(taskType) ?? 0) === 0 || live >= this.parts.maxSwarmlets) return;
    const action = { kind: 'replicate', taskType, reason: `replaces ${crashed.id} (${detail})` } as const;
    this.parts.records.logAction(atMs, action);
    this.parts.pool.start(taskType, atMs, false);
  }

  loadFailed(swarmletId: string, taskType: string, atMs: number, message: string): void {
    const parts = this.parts;
    const swarmlet = parts.swarmlets.get(swarmletId);
    if (swarmlet?.loadingTypes.delete(taskType)) {
      // Only a preload ahead of demand failed: the swarmlet still serves its own type. If the type is
      // really needed, its demand-driven load will fail the jobs then.
      parts.records.faults.push({
        atMs: atMs - parts.startedAtMs(),
        swarmletId,
        detail: `preload of ${taskType} failed: ${message}`,
        requeued: 0,
      });
      return;
    }
    parts.provider.stop(swarmletId);
    if (message.startsWith(RESTORE_FAILED) && parts.pool.states.discard(taskType)) {
      // One job's data made a state the type cannot restore: drop it rather than fail every later job.
      const detail = `saved state of ${taskType} discarded (${message}); the type starts afresh`;
      parts.records.faults.push({ atMs: atMs - parts.startedAtMs(), swarmletId, detail, requeued: 0 });
      return;
    }
    this.failType(taskType, message);
    parts.settleJobs();
  }

  /** A type that cannot load fails the jobs that need it; the others go on. */
  private failType(taskType: string, message: string): void {
    const error = new TaskModuleError(this.parts.taskTypes.get(taskType)?.sourcePath ?? taskType, message);
    for (const jobId of jobsNeeding(this.parts.tracker, this.parts.pending.records(), taskType))
      this.parts.tracker.abort(jobId, error);
  }
}
