import type { MonitorSample, WireResult, WireTask } from './local/ipc.js';

/**
 * Where swarmlets live. Small and event-driven (STYLE.md §5): requests go in as calls, and what
 * happens comes back through `ProviderEvents` as data with a timestamp, never as thrown errors.
 * Implementations: local processes now; cluster agents and the simulator later.
 */
export interface Provider {
  /**
   * Starts a swarmlet that loads `taskType`; answers with `ready` or `loadFailed`. Idempotent per id.
   * `state` (stateful types): the type's latest snapshot, restored before `ready`.
   */
  start(swarmletId: string, taskType: string, modulePath: string, state?: unknown): void;
  /**
   * Loads a task type into a swarmlet and runs its warmup (once per swarmlet). `activate`: serve
   * it from now on (specialization); otherwise only keep it warm (a shadow's preload). `state`:
   * restored before `ready` (even when the type was loaded already).
   */
  load(swarmletId: string, taskType: string, modulePath: string, activate: boolean, state?: unknown): void;
  /**
   * Asks for a stateful type's state; answered with `state` or `stateFailed` once the micro-tasks
   * dispatched before it have run. Never sent for a type whose `ready` did not say `stateful`.
   */
  snapshot(swarmletId: string, taskType: string): void;
  dispatch(swarmletId: string, tasks: WireTask[]): void;
  /** Queued (not yet started) micro-tasks the swarmlet should skip: they were moved elsewhere. */
  drop(swarmletId: string, taskIds: number[]): void;
  /** Asks a swarmlet to exit; `exited` follows. Idempotent. */
  stop(swarmletId: string): void;
  /** Stops a swarmlet at once (a hard limit was hit); `exited` follows with `reason` as its detail. */
  kill(swarmletId: string, reason: string): void;
  /** The micro-task a swarmlet is running (or ran last); null: none; undefined: the provider cannot tell. */
  lastStarted?(swarmletId: string): number | null | undefined;
  /** The operating-system process id of a live swarmlet, where it is a process of this machine. */
  pidOf?(swarmletId: string): number | undefined;
  /** How a swarmlet's memory limit is held here (e.g. 'cgroup-v1', 'proc-sampling'), for the run summary. */
  readonly memoryEnforcement?: string;
  /** What holds task code in here (e.g. 'bwrap'), for the run summary. */
  readonly sandbox?: string;
  /** Kills what is left and resolves once every swarmlet has exited. */
  stopAll(): Promise<void>;
}

export interface ProviderEvents {
  /** The swarmlet's process is up and loading its first task type. */
  up(swarmletId: string, atMs: number): void;
  /** A load finished; `loadMs` is the time since it was requested; `stateful`: the type has snapshot/restore. */
  ready(
    swarmletId: string,
    taskType: string,
    atMs: number,
    loadMs: number,
    activated: boolean,
    stateful: boolean,
  ): void;
  loadFailed(swarmletId: string, taskType: string, atMs: number, message: string): void;
  results(swarmletId: string, results: WireResult[], atMs: number): void;
  sample(swarmletId: string, sample: MonitorSample, atMs: number): void;
  /** The answer to `snapshot`: the type's state, JSON data within MAX_STATE_BYTES. */
  state(swarmletId: string, taskType: string, atMs: number, state: unknown): void;
  /** `snapshot` could not be answered (snapshot() threw, returned no JSON, or too much). */
  stateFailed(swarmletId: string, taskType: string, atMs: number, message: string): void;
  /**
   * The process is gone: planned (`stop`) or not (crash, kill). `lastStarted`: the micro-task it last
   * started (its result may have come back since): the only one a crash can be charged to; null:
   * nothing was running; undefined: the provider cannot tell.
   */
  exited(swarmletId: string, atMs: number, detail: string, lastStarted?: number | null): void;
  /** A line the swarmlet printed (already cut to length), with the `[label] ` of the micro-task it ran if any. */
  printed?(swarmletId: string, atMs: number, line: string): void;
}
