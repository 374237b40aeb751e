/**
 * What simulated swarmlets hold, measured the way the keep-alive replay (`sim/replay.ts`) measures an app's
 * environment: per task type, how many swarmlets have it loaded and active right now (warm: an arriving micro-task of
 * the type finds one), and the memory-time each held loaded but not running (MB × ms, by the type whose memory it
 * held).
 *
 * A swarmlet counts as loaded from the moment its type's load finishes (the cold start itself is not idle time: it is
 * the price the keep-alive replay charges as a count, not as memory) until it exits; it stops being warm when it is
 * asked to stop or to load another type. The memory it holds is its active type's (`memoryMbOf`).
 */
interface Held {
  /** The type it is warm for (loaded, active, not leaving), or undefined. */
  warmType: string | undefined;
  /** The type whose memory it holds (its last activated type), or undefined before its first load finished. */
  memoryType: string | undefined;
  memoryMb: number;
  /** Since when it has been loaded and not running; NaN while it runs or before it loaded. */
  idleSinceMs: number;
  running: boolean;
}

export class LoadedTally {
  private readonly held = new Map<string, Held>();
  private readonly warm = new Map<string, number>();
  private readonly idleMbMs = new Map<string, number>();

  constructor(private readonly memoryMbOf: (taskType: string) => number) {}

  /** Whether a live swarmlet has `taskType` loaded and active, not leaving it. */
  isWarm(taskType: string): boolean {
    return (this.warm.get(taskType) ?? 0) > 0;
  }

  /** Swarmlets warm for `taskType` now. */
  warmCount(taskType: string): number {
    return this.warm.get(taskType) ?? 0;
  }

  /** A swarmlet was started (nothing loaded yet). */
  started(swarmletId: string): void {
    this.held.set(swarmletId, {
      warmType: undefined,
      memoryType: undefined,
      memoryMb: 0,
      idleSinceMs: Number.NaN,
      running: false,
    });
  }

  /** Its load of `taskType` finished and it serves that type now. */
  activated(swarmletId: string, taskType: string, nowMs: number): void {
    const held = this.held.get(swarmletId);
    if (!held) return;
    this.closeIdle(held, nowMs);
    this.unwarm(held);
    held.warmType = taskType;
    this.warm.set(taskType, (this.warm.get(taskType) ?? 0) + 1);
    held.memoryType = taskType;
    held.memoryMb = this.memoryMbOf(taskType);
    if (!held.running) held.idleSinceMs = nowMs;
  }

  /** It was asked to stop, or to load another type: not warm for its type any more (it still holds the memory). */
  leaving(swarmletId: string): void {
    const held = this.held.get(swarmletId);
    if (held) this.unwarm(held);
  }

  /** It started running a micro-task. */
  busy(swarmletId: string, nowMs: number): void {
    const held = this.held.get(swarmletId);
    if (!held) return;
    this.closeIdle(held, nowMs);
    held.running = true;
  }

  /** Its micro-task ended (another may start at once). */
  free(swarmletId: string, nowMs: number): void {
    const held = this.held.get(swarmletId);
    if (!held) return;
    held.running = false;
    if (held.memoryType !== undefined) held.idleSinceMs = nowMs;
  }

  exited(swarmletId: string, nowMs: number): void {
    const held = this.held.get(swarmletId);
    if (!held) return;
    this.closeIdle(held, nowMs);
    this.unwarm(held);
    this.held.delete(swarmletId);
  }

  /** Idle memory-time (MB × ms) by type until `atMs`: what is closed, and what is idle now counted to `atMs`. */
  idleMbMsUntil(atMs: number): Map<string, number> {
    const totals = new Map(this.idleMbMs);
    for (const held of this.held.values()) {
      if (Number.isNaN(held.idleSinceMs) || held.memoryType === undefined || atMs <= held.idleSinceMs) continue;
      totals.set(held.memoryType, (totals.get(held.memoryType) ?? 0) + (atMs - held.idleSinceMs) * held.memoryMb);
    }
    return totals;
  }

  private closeIdle(held: Held, nowMs: number): void {
    if (!Number.isNaN(held.idleSinceMs) && held.memoryType !== undefined && nowMs > held.idleSinceMs)
      this.idleMbMs.set(
        held.memoryType,
        (this.idleMbMs.get(held.memoryType) ?? 0) + (nowMs - held.idleSinceMs) * held.memoryMb,
      );
    held.idleSinceMs = Number.NaN;
  }

  private unwarm(held: Held): void {
    if (held.warmType === undefined) return;
    const count = (this.warm.get(held.warmType) ?? 0) - 1;
    if (count > 0) this.warm.set(held.warmType, count);
    else this.warm.delete(held.warmType);
    held.warmType = undefined;
  }
}
