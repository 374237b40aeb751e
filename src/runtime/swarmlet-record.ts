import { transitionReason, type SwarmletState } from '../core/swarmlet-lifecycle.js';
import type { SwarmletView } from '../decide/snapshot.js';
import { CountedSet } from '../core/counted-set.js';
import type { MonitorSample } from './local/ipc.js';

export interface Transition {
  readonly from: SwarmletState;
  readonly to: SwarmletState;
  readonly atMs: number;
  readonly reason: string;
}

const HISTORY_LIMIT = 32;
const SERVED_LIMIT = 64;
const RECENT_LABELS = 16;

/** The director's record of one swarmlet: lifecycle (through the one table), in-flight work and busy time. */
export class SwarmletRecord {
  state: SwarmletState = 'starting';
  readonly history: Transition[] = [];
  readonly inFlight = new Set<number>();
  pendingTaskType: string | undefined;
  /** Set when chosen to stop; it stops once its in-flight work is done. */
  stopReason: string | undefined;
  lastBusyAtMs: number;
  lastMorphAtMs: number;
  rssMb: number | undefined;
  /** Task types loaded and warmed in it. */
  readonly warmTypes = new CountedSet<string>();
  /** Task types being preloaded into it. */
  readonly loadingTypes = new CountedSet<string>();
  /** The view's warm types, and the sets' change count it was built at (a view a tick: built only on a change). */
  private warmView: readonly string[] = [];
  private warmViewChanges = -1;
  /** Loads requested while micro-tasks of that type were waiting: they finish as cold starts. */
  readonly demandLoads = new Set<string>();
  /** Started ahead of predicted demand and not yet given work. */
  shadow = false;
  /**
   * Last time it started work or returned results: a busy swarmlet silent for longer than the task time limit is over
   * it.
   */
  progressAtMs: number;
  /** Set when it is killed for a hard limit: the micro-task that broke it (the others get requeued without penalty). */
  limitCulprit: number | undefined;
  /** Running a runaway under `onRunaway: 'isolate'`: gets no work until it is empty again. */
  isolated = false;
  /** The type it serves has snapshot/restore (its `ready` said so): its state is saved before it leaves the type. */
  stateful = false;
  /** Its state was saved (or given up on) since it stopped taking work: it may stop, or load its next type. */
  stateSaved = false;
  /** The monitor's latest report from inside the swarmlet. */
  lastSample: MonitorSample | undefined;
  private busySinceMs: number | undefined;
  private busyMsInWindow = 0;
  private windowStartMs: number;
  utilization = 0;

  /** Which task type it served from when (the last SERVED_LIMIT switches): the dashboard's timeline. */
  readonly served: { readonly taskType: string; readonly fromMs: number }[];

  constructor(
    readonly id: string,
    public taskType: string,
    readonly startedAtMs: number,
  ) {
    this.served = [{ taskType, fromMs: startedAtMs }];
    this.lastBusyAtMs = startedAtMs;
    this.lastMorphAtMs = startedAtMs;
    this.progressAtMs = startedAtMs;
    this.windowStartMs = startedAtMs;
  }

  /** Moves along the lifecycle table; an illegal edge throws (a bug). */
  transition(to: SwarmletState, atMs: number): void {
    const reason = transitionReason(this.state, to);
    if (this.state === 'busy') this.endBusy(atMs);
    if (to === 'busy') {
      this.busySinceMs = atMs;
      this.progressAtMs = atMs;
    }
    this.history.push({ from: this.state, to, atMs, reason });
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    this.state = to;
  }

  /**
   * The labels of the micro-tasks it ran last and their jobs, in a ring: what it prints after a result is still theirs.
   * Two plain arrays written in place: this runs for every result (no allocation, no map on the hot path).
   */
  private readonly recentLabels = new Array<string>(RECENT_LABELS);
  private readonly recentJobs = new Array<number>(RECENT_LABELS);
  private nextRecent = 0;

  ranLately(task: { readonly label: string; readonly jobId: number } | undefined): void {
    if (!task) return;
    this.recentLabels[this.nextRecent] = task.label;
    this.recentJobs[this.nextRecent] = task.jobId;
    this.nextRecent = (this.nextRecent + 1) % RECENT_LABELS;
  }

  /** The job of the micro-task with this label it ran last, if among the last RECENT_LABELS. */
  recentJobOf(label: string): number | undefined {
    for (let back = 1; back <= RECENT_LABELS; back++) {
      const i = (this.nextRecent - back + RECENT_LABELS) % RECENT_LABELS;
      if (this.recentLabels[i] === label) return this.recentJobs[i];
    }
    return undefined;
  }

  /** Switches it to another task type (a specialization loading it). */
  serve(taskType: string, atMs: number): void {
    this.taskType = taskType;
    this.served.push({ taskType, fromMs: atMs });
    if (this.served.length > SERVED_LIMIT) this.served.shift();
  }

  /** When it entered its current state. */
  get stateSinceMs(): number {
    return this.history[this.history.length - 1]?.atMs ?? this.startedAtMs;
  }

  /** Can take micro-tasks of its type now. */
  get serving(): boolean {
    return (
      (this.state === 'idle' || this.state === 'busy') &&
      this.pendingTaskType === undefined &&
      this.stopReason === undefined
    );
  }

  /** Closes the utilisation window (called once per tick). */
  closeWindow(nowMs: number): void {
    if (this.busySinceMs !== undefined) {
      this.busyMsInWindow += nowMs - this.busySinceMs;
      this.busySinceMs = nowMs;
      this.lastBusyAtMs = nowMs;
    }
    const windowMs = nowMs - this.windowStartMs;
    this.utilization = windowMs > 0 ? Math.min(1, this.busyMsInWindow / windowMs) : 0;
    this.busyMsInWindow = 0;
    this.windowStartMs = nowMs;
  }

  view(nowMs: number): SwarmletView {
    return {
      id: this.id,
      taskType: this.taskType,
      state: this.state,
      startedAtMs: this.startedAtMs,
      lastBusyAtMs: this.lastBusyAtMs,
      lastMorphAtMs: this.lastMorphAtMs,
      inFlight: this.inFlight.size,
      // Its oldest micro-task started at its last progress (a swarmlet runs its queue in order).
      busyForMs: this.inFlight.size > 0 ? Math.max(0, nowMs - this.progressAtMs) : 0,
      utilization: this.utilization,
      rssMb: this.rssMb,
      pendingTaskType: this.pendingTaskType,
      warmTypes: this.warmTypesView(),
      shadow: this.shadow,
    };
  }

  private warmTypesView(): readonly string[] {
    const changes = this.warmTypes.changes + this.loadingTypes.changes;
    if (changes !== this.warmViewChanges) {
      this.warmView = [...this.warmTypes, ...this.loadingTypes];
      this.warmViewChanges = changes;
    }
    return this.warmView;
  }

  private endBusy(atMs: number): void {
    if (this.busySinceMs === undefined) return;
    this.busyMsInWindow += atMs - this.busySinceMs;
    this.busySinceMs = undefined;
    this.lastBusyAtMs = atMs;
  }
}
