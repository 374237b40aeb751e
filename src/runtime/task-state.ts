/**
 * The state of stateful task types (`snapshot`/`restore`) in the embedded runtime: the latest
 * snapshot of each type, in the director's memory, and the snapshots asked for and not yet answered.
 *
 * Semantics (the cluster agent follows the same ones, with Redis as the store: agent-state.ts):
 * - While a swarmlet runs, the state is its own (the module's variables): swarmlets of one type do
 *   not share state while they run.
 * - When a swarmlet stops serving a stateful type (consolidate, deprovision, reclaim, a specialization
 *   away from it, `swarm.stop()`), the director asks it for a snapshot once it holds no micro-task,
 *   and stops it or loads its next type only after the answer (bounded by `STATE_TIMEOUT_MS`).
 * - That snapshot becomes the type's latest state: last writer wins, per type.
 * - A swarmlet that starts serving the type (started for it, or specialized to it, also to a type
 *   it had preloaded) restores the latest state before it takes work.
 * - A swarmlet killed (a hard limit, a crash) cannot answer: what it did since the latest snapshot
 *   of its type is lost, and the next swarmlet restores that snapshot.
 * - Stateless types cost nothing: no message is sent for a type whose `ready` did not say stateful.
 */
import type { Timers } from '../core/environment.js';

/** How long a snapshot may take before the director gives up on it and goes on without it. */
export const STATE_TIMEOUT_MS = 5_000;

export interface SavedState {
  readonly state: unknown;
  readonly atMs: number;
  /** The swarmlet whose snapshot it is. */
  readonly swarmletId: string;
}

/** A swarmlet's answer to a snapshot request: the state, or why there is none. */
export type StateAnswer = { readonly state: unknown } | { readonly message: string };

interface Ask {
  readonly taskType: string;
  readonly atMs: number;
}

export class TaskStates {
  private readonly latest = new Map<string, SavedState>();
  private readonly asks = new Map<string, Ask>();
  private waiters: (() => void)[] = [];

  /** The type's latest saved state; undefined while none was saved. */
  latestOf(taskType: string): unknown {
    return this.latest.get(taskType)?.state;
  }

  /** Drops the type's latest state (its `restore` refused it): the next swarmlet starts the type afresh. */
  discard(taskType: string): boolean {
    return this.latest.delete(taskType);
  }

  /** Every type's latest saved state. */
  get saved(): ReadonlyMap<string, SavedState> {
    return this.latest;
  }

  isAsked(swarmletId: string): boolean {
    return this.asks.has(swarmletId);
  }

  ask(swarmletId: string, taskType: string, atMs: number): void {
    this.asks.set(swarmletId, { taskType, atMs });
  }

  /**
   * Records an answer (a state becomes the type's latest); false when none was awaited for that type from that
   * swarmlet.
   */
  answered(swarmletId: string, taskType: string, atMs: number, answer: StateAnswer): boolean {
    if (this.asks.get(swarmletId)?.taskType !== taskType) return false;
    this.forget(swarmletId);
    if ('state' in answer) this.latest.set(taskType, { state: answer.state, atMs, swarmletId });
    return true;
  }

  /** Asks unanswered for longer than `STATE_TIMEOUT_MS`: given up, so the caller can go on without them. */
  overdue(nowMs: number): { readonly swarmletId: string; readonly taskType: string }[] {
    if (this.asks.size === 0) return []; // asked every tick; almost always nothing is pending
    const late = [...this.asks]
      .filter(([, ask]) => nowMs - ask.atMs > STATE_TIMEOUT_MS)
      .map(([swarmletId, ask]) => ({ swarmletId, taskType: ask.taskType }));
    for (const { swarmletId } of late) this.forget(swarmletId);
    return late;
  }

  /** Nothing more will come from this swarmlet (it exited, or we gave up on it). */
  forget(swarmletId: string): void {
    if (!this.asks.delete(swarmletId) || this.asks.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no answer is awaited any more, or after `timeoutMs`. */
  async whenAnswered(timers: Timers, timeoutMs = STATE_TIMEOUT_MS): Promise<void> {
    if (this.asks.size === 0) return;
    let cancel: (() => void) | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(resolve)),
      new Promise<void>((resolve) => (cancel = timers.after(timeoutMs, resolve))),
    ]);
    cancel?.();
  }
}
