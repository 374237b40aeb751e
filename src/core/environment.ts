import type { Clock } from './clock.js';

/**
 * Where the runtime's time comes from (DESIGN.md: one loop, three environments). The embedded runtime and the cluster
 * use the wall clock and Node's timers; the simulator a virtual clock whose timers fire when it advances. The loop's
 * code never reads the wall clock or sets a timer itself (a `no-restricted-globals` lint rule holds it).
 */
export interface Timers {
  /** Calls `run` every `ms` until the returned cancel is called. */
  every(ms: number, run: () => void): () => void;
  /**
   * Calls `run` once after `ms` unless the returned cancel is called first. Real timers never keep the process alive on
   * their own, except one set with `keepAlive`: a wait someone awaits that may be all there is left to do (the bound on
   * a connect or a close, a cleanup's retry), which would otherwise end the process before it answers.
   */
  after(ms: number, run: () => void, options?: TimerOptions): () => void;
}

export interface TimerOptions {
  readonly keepAlive?: boolean;
}

export interface Environment {
  readonly clock: Clock;
  readonly timers: Timers;
}

/** Resolves after `ms` on the environment's timers. */
export function sleep(timers: Timers, ms: number, options?: TimerOptions): Promise<void> {
  return new Promise((resolve) => void timers.after(ms, resolve, options));
}
