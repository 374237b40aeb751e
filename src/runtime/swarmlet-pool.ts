import type { Action } from '../core/actions.js';
import type { Timers } from '../core/environment.js';
import type { TaskTypeInfo } from './local/task-compiler.js';
import type { Provider } from './provider.js';
import { SwarmletRecord } from './swarmlet-record.js';
import { TaskStates, type StateAnswer } from './task-state.js';
import type { TypeStats } from './type-stats.js';

/** A fault worth a line in the run report (the orchestrator keeps them). */
export type FaultSink = (swarmletId: string, atMs: number, detail: string) => void;

/**
 * Carries out the loop's actions on swarmlets (start, preload, specialize, retire) and keeps the
 * cold-start accounting: a load micro-tasks were waiting for is a cold start; one ahead of demand
 * is a pre-warm. Shares the orchestrator's maps; the orchestrator stays the only one that reads events.
 *
 * Stateful types (task-state.ts): a swarmlet leaving one (stop or specialize) first hands its state
 * over, once it holds no micro-task; the next swarmlet to serve the type restores it.
 */
export class SwarmletPool {
  private nextSwarmletId = 1;
  readonly states = new TaskStates();

  constructor(
    private readonly swarmlets: Map<string, SwarmletRecord>,
    private readonly provider: Provider,
    private readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>,
    private readonly stats: ReadonlyMap<string, TypeStats>,
    private readonly queued: ReadonlyMap<string, number>,
    private readonly fault: FaultSink,
    private readonly timers: Timers,
  ) {}

  /** Carries out one of the policy's actions on the pool. */
  act(action: Action, nowMs: number): void {
    switch (action.kind) {
      case 'replicate':
        return void this.start(action.taskType, nowMs, false);
      case 'prewarm':
        if (action.swarmletId === undefined) return void this.start(action.taskType, nowMs, true);
        return this.preload(this.swarmlets.get(action.swarmletId)!, action.taskType);
      case 'specialize':
        return this.specialize(this.swarmlets.get(action.swarmletId)!, action.toTaskType, nowMs);
      case 'consolidate':
      case 'deprovision':
      case 'reclaim':
        return this.retire(this.swarmlets.get(action.swarmletId)!, action.reason, nowMs);
    }
  }

  start(taskType: string, nowMs: number, shadow: boolean): SwarmletRecord {
    const swarmlet = new SwarmletRecord(`s${this.nextSwarmletId++}`, taskType, nowMs);
    swarmlet.shadow = shadow;
    this.swarmlets.set(swarmlet.id, swarmlet);
    this.notePeak(taskType);
    this.noteLoad(swarmlet, taskType);
    this.provider.start(
      swarmlet.id,
      taskType,
      this.taskTypes.get(taskType)!.modulePath,
      this.states.latestOf(taskType),
    );
    return swarmlet;
  }

  /** A shadow's preload: the type is loaded and warmed in this swarmlet, which keeps serving its own type. */
  preload(swarmlet: SwarmletRecord, taskType: string): void {
    if (
      swarmlet.warmTypes.has(taskType) ||
      swarmlet.loadingTypes.has(taskType) ||
      swarmlet.state === 'stopped' ||
      swarmlet.state === 'draining'
    )
      return;
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
    if (swarmlet.state !== 'idle' || this.savingFirst(swarmlet, nowMs)) {
      // takes no new work; switches once its micro-tasks finish and its state is saved
      swarmlet.pendingTaskType = taskType;
      return;
    }
    swarmlet.transition('warming', nowMs);
    swarmlet.serve(taskType, nowMs);
    swarmlet.pendingTaskType = undefined;
    swarmlet.stateful = false; // until the new type's `ready` says
    swarmlet.stateSaved = false;
    this.notePeak(taskType);
    this.noteLoad(swarmlet, taskType);
    this.provider.load(
      swarmlet.id,
      taskType,
      this.taskTypes.get(taskType)!.modulePath,
      true,
      this.states.latestOf(taskType),
    );
  }

  retire(swarmlet: SwarmletRecord, reason: string, nowMs: number): void {
    swarmlet.stopReason = reason;
    if (swarmlet.state === 'idle' || swarmlet.state === 'busy') swarmlet.transition('draining', nowMs);
    if (swarmlet.inFlight.size === 0) this.finish(swarmlet, nowMs);
  }

  /** An emptied swarmlet carries out the stop or specialization that waited for it. */
  proceed(swarmlet: SwarmletRecord, nowMs: number): void {
    if (swarmlet.inFlight.size > 0) return;
    if (swarmlet.state === 'draining') this.finish(swarmlet, nowMs);
    else if (swarmlet.pendingTaskType !== undefined && swarmlet.state === 'idle')
      this.specialize(swarmlet, swarmlet.pendingTaskType, nowMs);
  }

  private finish(swarmlet: SwarmletRecord, nowMs: number): void {
    if (!this.savingFirst(swarmlet, nowMs)) this.provider.stop(swarmlet.id);
  }

  /** A stateful swarmlet about to leave its type asks for its state first (once); true while the answer is awaited. */
  private savingFirst(swarmlet: SwarmletRecord, nowMs: number): boolean {
    if (this.states.isAsked(swarmlet.id)) return true;
    if (!swarmlet.stateful || swarmlet.stateSaved) return false;
    this.states.ask(swarmlet.id, swarmlet.taskType, nowMs);
    this.provider.snapshot(swarmlet.id, swarmlet.taskType);
    return true;
  }

  /** A snapshot's answer: the state becomes the type's latest, and the swarmlet goes on with what waited for it. */
  stateAnswered(swarmletId: string, taskType: string, atMs: number, answer: StateAnswer): void {
    if (!this.states.answered(swarmletId, taskType, atMs, answer)) return;
    if ('message' in answer) this.fault(swarmletId, atMs, `state of ${taskType} not saved: ${answer.message}`);
    this.saved(swarmletId, atMs);
  }

  /** Snapshots unanswered for too long: given up (the latest saved state stays), so the swarmlet can move on. */
  expireSnapshots(nowMs: number): void {
    for (const { swarmletId, taskType } of this.states.overdue(nowMs)) {
      this.fault(swarmletId, nowMs, `state of ${taskType} not saved: no answer to the snapshot request in time`);
      this.saved(swarmletId, nowMs);
    }
  }

  private saved(swarmletId: string, atMs: number): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet || swarmlet.state === 'stopped') return;
    swarmlet.stateSaved = true;
    this.proceed(swarmlet, atMs);
  }

  /** The swarm stops: every stateful swarmlet not saved yet is asked; resolves once all answered (bounded). */
  async saveAll(nowMs: number): Promise<void> {
    for (const swarmlet of this.swarmlets.values()) {
      if (swarmlet.state !== 'stopped') this.savingFirst(swarmlet, nowMs);
    }
    await this.states.whenAnswered(this.timers);
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
