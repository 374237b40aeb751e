import type { Environment, Timers } from '../../core/environment.js';
import type { Clock } from '../../core/clock.js';

interface Timer {
  atMs: number;
  readonly seq: number;
  readonly everyMs: number | undefined;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * Virtual time for the same runtime code: timers fire in time order (ties in the order they were set) when `step`
 * advances the clock to the next one. Nothing runs by itself: the driver steps, and between steps lets the promises
 * the fired code started settle (`settle`), so async code in the loop sees time stand still as it would on a fast
 * machine.
 */
export class VirtualEnvironment implements Environment {
  private now = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];
  readonly clock: Clock = { nowMs: () => this.now };
  readonly timers: Timers = {
    every: (ms, run) => this.schedule(Math.max(1e-3, ms), run, Math.max(1e-3, ms)),
    after: (ms, run) => this.schedule(Math.max(0, ms), run, undefined),
  };
  /** Timers fired so far (the simulator's event count). */
  fired = 0;

  get nowMs(): number {
    return this.now;
  }

  /** Fires every timer due at the next instant; false when none is left. */
  step(): boolean {
    const first = this.pop();
    if (!first) return false;
    this.now = Math.max(this.now, first.atMs);
    this.fire(first);
    return true;
  }

  private fire(timer: Timer): void {
    this.fired++;
    if (timer.everyMs !== undefined) {
      timer.atMs += timer.everyMs;
      this.push(timer);
    }
    timer.run();
  }

  private schedule(ms: number, run: () => void, everyMs: number | undefined): () => void {
    const timer: Timer = { atMs: this.now + ms, seq: this.seq++, everyMs, run, cancelled: false };
    this.push(timer);
    return () => void (timer.cancelled = true);
  }

  private pop(): Timer | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.down(0);
      }
      if (!top.cancelled) return top;
    }
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(timer, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = timer;
  }

  private down(index: number): void {
    const heap = this.heap;
    const item = heap[index]!;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, item)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = item;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** Lets every promise started by fired timers run to its next wait (a macrotask turn drains all microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
