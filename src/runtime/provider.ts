import type { MonitorSample, WireResult, WireTask } from './local/ipc.js';

/**
 * Where swarmlets live. Small and event-driven (STYLE.md §5): requests go in as calls, and what
 * happens comes back through `ProviderEvents` as data with a timestamp, never as thrown errors.
 * Implementations: local processes now; cluster agents and the simulator later.
 */
export interface Provider {
  /** Starts a swarmlet that loads `taskType`; answers with `ready` or `loadFailed`. Idempotent per id. */
  start(swarmletId: string, taskType: string, modulePath: string): void;
  /** Loads another task type into an idle swarmlet (specialization). */
  load(swarmletId: string, taskType: string, modulePath: string): void;
  dispatch(swarmletId: string, tasks: WireTask[]): void;
  /** Asks a swarmlet to exit; `exited` follows. Idempotent. */
  stop(swarmletId: string): void;
  /** Kills what is left and resolves once every swarmlet has exited. */
  stopAll(): Promise<void>;
}

export interface ProviderEvents {
  /** The swarmlet's process is up and loading its first task type. */
  up(swarmletId: string, atMs: number): void;
  ready(swarmletId: string, taskType: string, atMs: number, coldStartMs: number): void;
  loadFailed(swarmletId: string, taskType: string, atMs: number, message: string): void;
  results(swarmletId: string, results: WireResult[], atMs: number): void;
  sample(swarmletId: string, sample: MonitorSample, atMs: number): void;
  /** The process is gone: planned (`stop`) or not (crash, kill). */
  exited(swarmletId: string, atMs: number, detail: string): void;
}
