import type { SwarmletView, TaskTypeLoad } from '../decide/snapshot.js';
import type { JobTracker } from './jobs/job-tracker.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import type { TypeStats } from './type-stats.js';
import type { UsageTracker } from './usage-tracker.js';

/** The pool's and each task type's view for a snapshot, taken in one pass (observe runs every tick). */
export class PoolObserver {
  /** Per task type, observe's counts over the pool (kept between ticks: observe runs every tick). */
  private readonly tallies = new Map<string, { inFlight: number; runningForMs: number; serving: number }>();
  /** Swarmlets serving each type at this tick (not stopped or draining), from the tallies. */
  readonly servingNow = { get: (taskType: string) => this.tallies.get(taskType)?.serving };

  constructor(
    private readonly swarmlets: ReadonlyMap<string, SwarmletRecord>,
    private readonly stats: ReadonlyMap<string, TypeStats>,
    private readonly tracker: JobTracker,
    private readonly usage: UsageTracker,
  ) {}

  observe(nowMs: number, depths: ReadonlyMap<string, number>): { swarmlets: SwarmletView[]; load: TaskTypeLoad[] } {
    // One pass over the pool: close each window, tally its type, and take its view.
    for (const tally of this.tallies.values()) {
      tally.inFlight = 0;
      tally.runningForMs = 0;
      tally.serving = 0;
    }
    const swarmlets: SwarmletView[] = [];
    for (const swarmlet of this.swarmlets.values()) {
      swarmlet.closeWindow(nowMs);
      let tally = this.tallies.get(swarmlet.taskType);
      if (!tally) this.tallies.set(swarmlet.taskType, (tally = { inFlight: 0, runningForMs: 0, serving: 0 }));
      tally.inFlight += swarmlet.inFlight.size;
      // Its oldest micro-task started at its last progress (a swarmlet runs its queue in order).
      if (swarmlet.inFlight.size > 0) tally.runningForMs = Math.max(tally.runningForMs, nowMs - swarmlet.progressAtMs);
      if (swarmlet.state !== 'stopped' && swarmlet.state !== 'draining') tally.serving += 1;
      swarmlets.push(swarmlet.view(nowMs));
    }
    const load: TaskTypeLoad[] = [];
    for (const stats of this.stats.values()) {
      const tally = this.tallies.get(stats.taskType);
      load.push(
        stats.closeWindow(
          depths.get(stats.taskType) ?? 0,
          tally?.inFlight ?? 0,
          this.tracker.counts.get(stats.taskType)?.blocked ?? 0,
          tally?.runningForMs ?? 0,
          this.usage.predictedDurationMs(stats.taskType),
          this.tracker.successorTypes.get(stats.taskType),
          this.usage.durationErrorRatio(stats.taskType),
        ),
      );
    }
    return { swarmlets, load };
  }
}
