import { invariant } from '../../core/errors.js';
import { IdHeap } from './id-heap.js';
import type { Workflow } from './load.js';

/**
 * A discrete-event replay of a workflow on at most `slots` identical one-core swarmlets, on a
 * virtual clock. The replay owns time, the DAG and the accounting; a baseline scheduler (a
 * `ReplayScheduler`) only decides, after each instant's events, which slots to launch or stop and
 * which ready task runs where.
 *
 * A swarmlet holds one task type at a time. Launching one with a type, or giving it a task of
 * another type, costs a cold start of `coldStartMs` (the swarmlet is `starting` meanwhile); a slot
 * launched without a type (a pool held for any type) pays that cold start at its first task.
 * Swarmlet time held = busy + idle + starting, from launch to stop; every slot still held stops
 * when the last task ends (after that no policy has work, so their costs would differ only by
 * how they wind down).
 */
export interface ReplayOptions {
  readonly slots: number;
  readonly coldStartMs: number;
}

/** Until the cold start measured on this machine replaces it. */
export const DEFAULT_COLD_START_MS = 100;

export const SlotState = { stopped: 0, starting: 1, idle: 2, busy: 3 } as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

export interface ReplayScheduler {
  readonly name: string;
  /** Tasks whose parents have all ended, in task order within one instant (the roots at time 0). */
  onReady(replay: Replay, task: number): void;
  /** After the events of each instant (time 0 included): launch, stop, assign. */
  dispatch(replay: Replay): void;
  /** A timer set with `replay.setTimer` went off (before `dispatch` of the same instant). */
  onTimer?(replay: Replay, tag: number): void;
}

export interface ReplayResult {
  readonly scheduler: string;
  readonly workflow: string;
  readonly slots: number;
  readonly coldStartMs: number;
  readonly makespanMs: number;
  /** Swarmlet time held, the cost: busyMs + idleMs + startingMs. */
  readonly heldMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly startingMs: number;
  readonly coldStarts: number;
  /** Most slots held at once. */
  readonly peakHeld: number;
  readonly taskStartMs: Float64Array;
  readonly taskEndMs: Float64Array;
  readonly taskSlot: Int32Array;
  /** Times each task was started: 1 each in a correct replay (the checker verifies). */
  readonly taskRuns: Int32Array;
  readonly events: number;
}

const TASK_END = 0;
const SLOT_READY = 1;
const TIMER = 2;
/** Events per task (end, ready, and a scheduler's timers) far below this; a runaway scheduler hits it. */
const MAX_EVENTS_PER_TASK = 10_000;
const MIN_MAX_EVENTS = 1_000_000;

export class Replay {
  readonly workflow: Workflow;
  readonly slots: number;
  readonly coldStartMs: number;
  nowMs = 0;
  readonly slotState: Uint8Array;
  /** The task type a slot holds (loaded or loading); -1 for none. */
  readonly slotType: Int32Array;
  /** The task a slot runs or will run once started; -1 for none. */
  readonly slotTask: Int32Array;
  /** When the slot entered its current state (an idle slot: since when it is idle). */
  readonly slotSinceMs: Float64Array;
  private readonly readyAtMs: Float64Array;
  readonly taskStartMs: Float64Array;
  readonly taskEndMs: Float64Array;
  readonly taskSlot: Int32Array;
  readonly taskRuns: Int32Array;
  private readonly waitingParents: Int32Array;
  private readonly stateMs = [0, 0, 0, 0];
  private readonly stopped: number[] = [];
  /** Idle slots: `idle` in any order, `idleAt[slot]` its position there (-1: not idle). */
  private readonly idle: number[] = [];
  private readonly idleAt: Int32Array;
  /** Idle slots per held type (index type + 1; 0: no type), positions in `idleByTypeAt`. */
  private readonly idleByType: number[][];
  private readonly idleByTypeAt: Int32Array;
  private readonly eventTimes: number[] = [];
  private readonly eventKinds: number[] = [];
  private readonly eventTargets: number[] = [];
  private readonly events = new IdHeap(this.eventTimes);
  private unfinished: number;
  private coldStarts = 0;
  private held = 0;
  private peakHeld = 0;

  constructor(workflow: Workflow, options: ReplayOptions) {
    const { slots, coldStartMs } = options;
    if (!(Number.isInteger(slots) && slots >= 1)) throw new RangeError(`slots = ${slots}: use a whole number ≥ 1`);
    if (!(Number.isFinite(coldStartMs) && coldStartMs >= 0))
      throw new RangeError(`coldStartMs = ${coldStartMs}: use a time ≥ 0 ms`);
    this.workflow = workflow;
    this.slots = slots;
    this.coldStartMs = coldStartMs;
    const n = workflow.tasks.length;
    this.slotState = new Uint8Array(slots);
    this.slotType = new Int32Array(slots).fill(-1);
    this.slotTask = new Int32Array(slots).fill(-1);
    this.slotSinceMs = new Float64Array(slots);
    this.readyAtMs = new Float64Array(slots);
    this.idleAt = new Int32Array(slots).fill(-1);
    this.idleByTypeAt = new Int32Array(slots).fill(-1);
    this.idleByType = Array.from({ length: workflow.types.length + 1 }, () => []);
    for (let slot = slots - 1; slot >= 0; slot--) this.stopped.push(slot);
    this.taskStartMs = new Float64Array(n).fill(Number.NaN);
    this.taskEndMs = new Float64Array(n).fill(Number.NaN);
    this.taskSlot = new Int32Array(n).fill(-1);
    this.taskRuns = new Int32Array(n);
    this.waitingParents = new Int32Array(n);
    workflow.tasks.forEach((task, i) => (this.waitingParents[i] = task.parents.length));
    this.unfinished = n;
  }

  /** Slots held now (starting, idle or busy). */
  get heldSlots(): number {
    return this.held;
  }

  get idleSlots(): readonly number[] {
    return this.idle;
  }

  /** An idle slot holding `type` (-1: an idle slot holding none), or -1. */
  idleSlotOfType(type: number): number {
    const list = this.idleByType[type + 1]!;
    return list.length === 0 ? -1 : list[list.length - 1]!;
  }

  /** Starts a stopped slot; with a type it cold-starts, without one it is idle at once. Returns the slot. */
  launch(type: number): number {
    const slot = this.stopped.pop();
    invariant(slot !== undefined, `launch with all ${this.slots} slots held`);
    this.held++;
    this.peakHeld = Math.max(this.peakHeld, this.held);
    this.slotType[slot] = type;
    this.slotTask[slot] = -1;
    this.slotSinceMs[slot] = this.nowMs;
    if (type < 0) this.becomeIdle(slot);
    else this.coldStart(slot);
    return slot;
  }

  /** Runs ready `task` on idle `slot`, after a cold start when the slot holds another type. */
  assign(slot: number, task: number): void {
    invariant(this.slotState[slot] === SlotState.idle, `assign to slot ${slot} in state ${this.slotState[slot]}`);
    invariant(this.waitingParents[task] === 0 && this.taskRuns[task] === 0, `assign of task ${task} not ready`);
    this.taskRuns[task]!++; // claimed now, so a scheduler cannot hand it out twice while the slot starts
    this.leaveIdle(slot);
    this.slotTask[slot] = task;
    const type = this.workflow.tasks[task]!.typeIndex;
    if (this.slotType[slot] === type) return this.startTask(slot);
    this.slotType[slot] = type;
    this.coldStart(slot);
  }

  /** Stops an idle slot, or a starting one with no task. */
  stop(slot: number): void {
    const state = this.slotState[slot];
    invariant(
      state === SlotState.idle || (state === SlotState.starting && this.slotTask[slot] === -1),
      `stop of slot ${slot} in state ${state}`,
    );
    if (state === SlotState.idle) this.leaveIdle(slot);
    this.enter(slot, SlotState.stopped);
    this.slotType[slot] = -1;
    this.held--;
    this.stopped.push(slot);
  }

  /** `onTimer(tag)` at `atMs` (≥ now). */
  setTimer(atMs: number, tag: number): void {
    invariant(atMs >= this.nowMs, `timer at ${atMs} ms before now (${this.nowMs} ms)`);
    this.push(atMs, TIMER, tag);
  }

  /** Tasks not ended yet. */
  get unfinishedTasks(): number {
    return this.unfinished;
  }

  run(scheduler: ReplayScheduler): ReplayResult {
    const tasks = this.workflow.tasks;
    for (let i = 0; i < tasks.length; i++) if (tasks[i]!.parents.length === 0) scheduler.onReady(this, i);
    scheduler.dispatch(this);
    const maxEvents = Math.max(MIN_MAX_EVENTS, MAX_EVENTS_PER_TASK * tasks.length);
    let count = 0;
    while (this.unfinished > 0) {
      const first = this.events.pop();
      invariant(first >= 0, `${scheduler.name}: no event left with ${this.unfinished} tasks unfinished (a stall)`);
      this.nowMs = this.eventTimes[first]!;
      for (let event = first; event >= 0; event = this.nextAt(this.nowMs)) {
        invariant(++count <= maxEvents, `${scheduler.name}: more than ${maxEvents} events`);
        this.handle(scheduler, event);
      }
      scheduler.dispatch(this);
    }
    return this.finish(scheduler.name, count);
  }

  private nextAt(timeMs: number): number {
    const next = this.events.peek();
    return next >= 0 && this.eventTimes[next] === timeMs ? this.events.pop() : -1;
  }

  private handle(scheduler: ReplayScheduler, event: number): void {
    const target = this.eventTargets[event]!;
    switch (this.eventKinds[event]) {
      case TASK_END:
        return this.endTask(scheduler, target);
      case SLOT_READY:
        // A slot stopped while starting (and maybe launched again since) leaves a stale event behind.
        if (this.slotState[target] !== SlotState.starting || this.readyAtMs[target] !== this.nowMs) return;
        if (this.slotTask[target]! >= 0) this.startTask(target);
        else this.becomeIdle(target);
        return;
      case TIMER:
        scheduler.onTimer?.(this, target);
    }
  }

  private endTask(scheduler: ReplayScheduler, slot: number): void {
    const task = this.slotTask[slot]!;
    this.taskEndMs[task] = this.nowMs;
    this.slotTask[slot] = -1;
    this.becomeIdle(slot);
    this.unfinished--;
    for (const child of this.workflow.tasks[task]!.children) {
      if (--this.waitingParents[child]! === 0) scheduler.onReady(this, child);
    }
  }

  private startTask(slot: number): void {
    const task = this.slotTask[slot]!;
    this.enter(slot, SlotState.busy);
    this.taskStartMs[task] = this.nowMs;
    this.taskSlot[task] = slot;
    this.push(this.nowMs + this.workflow.tasks[task]!.runtimeMs, TASK_END, slot);
  }

  private coldStart(slot: number): void {
    this.coldStarts++;
    this.enter(slot, SlotState.starting);
    this.readyAtMs[slot] = this.nowMs + this.coldStartMs;
    this.push(this.readyAtMs[slot]!, SLOT_READY, slot);
  }

  private becomeIdle(slot: number): void {
    this.enter(slot, SlotState.idle);
    this.idleAt[slot] = this.idle.push(slot) - 1;
    const list = this.idleByType[this.slotType[slot]! + 1]!;
    this.idleByTypeAt[slot] = list.push(slot) - 1;
  }

  private leaveIdle(slot: number): void {
    removeAt(this.idle, this.idleAt, slot);
    removeAt(this.idleByType[this.slotType[slot]! + 1]!, this.idleByTypeAt, slot);
  }

  /** Charges the time spent in the state being left (a stopped slot costs nothing). */
  private enter(slot: number, state: SlotState): void {
    const previous = this.slotState[slot]!;
    if (previous !== SlotState.stopped) this.stateMs[previous]! += this.nowMs - this.slotSinceMs[slot]!;
    this.slotState[slot] = state;
    this.slotSinceMs[slot] = this.nowMs;
  }

  private push(timeMs: number, kind: number, target: number): void {
    const id = this.eventTimes.push(timeMs) - 1;
    this.eventKinds.push(kind);
    this.eventTargets.push(target);
    this.events.push(id);
  }

  private finish(scheduler: string, events: number): ReplayResult {
    for (let slot = 0; slot < this.slots; slot++) {
      const state = this.slotState[slot];
      if (state === SlotState.stopped) continue;
      invariant(state !== SlotState.busy, `slot ${slot} busy after the last task ended`);
      if (state === SlotState.idle) this.leaveIdle(slot);
      this.enter(slot, SlotState.stopped);
    }
    const [, startingMs, idleMs, busyMs] = this.stateMs as [number, number, number, number];
    return {
      scheduler,
      workflow: this.workflow.name,
      slots: this.slots,
      coldStartMs: this.coldStartMs,
      makespanMs: this.nowMs,
      heldMs: busyMs + idleMs + startingMs,
      busyMs,
      idleMs,
      startingMs,
      coldStarts: this.coldStarts,
      peakHeld: this.peakHeld,
      taskStartMs: this.taskStartMs,
      taskEndMs: this.taskEndMs,
      taskSlot: this.taskSlot,
      taskRuns: this.taskRuns,
      events,
    };
  }
}

/** Swap-remove of `slot` from `list`, keeping `at` (slot → position, -1 when absent) in step. */
function removeAt(list: number[], at: Int32Array, slot: number): void {
  const index = at[slot]!;
  invariant(index >= 0 && list[index] === slot, `slot ${slot} is not in its idle list`);
  const last = list.pop()!;
  if (last !== slot) {
    list[index] = last;
    at[last] = index;
  }
  at[slot] = -1;
}
