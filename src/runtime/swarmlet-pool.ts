import type { TaskTypeInfo } from './local/task-compiler.js';
import type { Provider } from './provider.js';
import { SwarmletRecord } from './swarmlet-record.js';
import type { TypeStats } from './type-stats.js';

/**
 * Carries out the loop's actions on swarmlets (start, preload, specialize, retire) and keeps the
 * cold-start accounting: a load micro-tasks were waiting for is a cold start; one ahead of demand
 * is a pre-warm. Shares the orchestrator's maps; the orchestrator stays the only one that reads events.
 */
export class SwarmletPool {
  private nextSwarmletId = 1;

  constructor(
    private readonly swarmlets: Map<string, SwarmletRecord>,
    private readonly provider: Provider,
    private readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>,
    private readonly stats: ReadonlyMap<string, TypeStats>,
    private readonly queued: ReadonlyMap<string, number>,
  ) {}

  start(taskType: string, nowMs: number, shadow: boolean): SwarmletRecord {
    const swarmlet = new SwarmletRecord(`s${this.nextSwarmletId++}`, taskType, nowMs);
    swarmlet.shadow = shadow;
    this.swarmlets.set(swarmlet.id, swarmlet);
    this.notePeak(taskType);
    this.noteLoad(swarmlet, taskType);
    this.provider.start(swarmlet.id, taskType, this.taskTypes.get(taskType)!.modulePath);
    return swarmlet;
  }

  /** A shadow's preload: the type is loaded and warmed in this swarmlet, which keeps serving its own type. */
  preload(swarmlet: SwarmletRecord, taskType: string): void {
    if (swarmlet.warmTypes.has(taskType) || swarmlet.loadingTypes.has(taskType) || swarmlet.state === 'stopped' || swarmlet.state === 'draining') return;
    this.noteLoad(swarmlet, taskType);
    swarmlet.loadingTypes.add(taskType);
    this.provider.load(swarmlet.id, taskType, this.taskTypes.get(taskType)!.modulePath, false);
  }

  /** A load that micro-tasks are already waiting for is a cold start; one ahead of demand is a pre-warm. */
  private noteLoad(swarmlet: SwarmletRecord, taskType: string): void {
    if (swarmlet.warmTypes.has(taskType)) return;
    if ((this.queued.get(taskType) ?? 0) > 0) swarmlet.demandLoads.add(taskType);
  }

  specialize(swarmlet: SwarmletRecord, taskType: string, nowMs: number): void {
    swarmlet.lastMorphAtMs = nowMs;
    if (swarmlet.state !== 'idle') {
      swarmlet.pendingTaskType = taskType; // takes no new work; switches once its micro-tasks finish
      return;
    }
    swarmlet.transition('warming', nowMs);
    swarmlet.taskType = taskType;
    swarmlet.pendingTaskType = undefined;
    this.notePeak(taskType);
    this.noteLoad(swarmlet, taskType);
    this.provider.load(swarmlet.id, taskType, this.taskTypes.get(taskType)!.modulePath, true);
  }

  retire(swarmlet: SwarmletRecord, reason: string, nowMs: number): void {
    swarmlet.stopReason = reason;
    if (swarmlet.state === 'idle' || swarmlet.state === 'busy') swarmlet.transition('draining', nowMs);
    if (swarmlet.inFlight.size === 0) this.provider.stop(swarmlet.id);
  }

  private notePeak(taskType: string): void {
    const serving = [...this.swarmlets.values()].filter((s) => s.state !== 'stopped' && s.taskType === taskType).length;
    const report = this.stats.get(taskType)!.report;
    report.peakSwarmlets = Math.max(report.peakSwarmlets, serving);
  }

  countLoad(swarmlet: SwarmletRecord, taskType: string, loadMs: number): void {
    swarmlet.loadingTypes.delete(taskType);
    if (swarmlet.warmTypes.has(taskType)) return; // already warm there: switching to it is free
    swarmlet.warmTypes.add(taskType);
    const report = this.stats.get(taskType)!.report;
    if (swarmlet.demandLoads.delete(taskType)) {
      report.coldStarts += 1;
      report.coldStartMsTotal += loadMs;
    } else {
      report.prewarms += 1;
    }
  }
}
