import { percentile } from '../metrics.js';

export type PriorityClass = 'high' | 'normal' | 'low';
export const PRIORITY_CLASSES: readonly PriorityClass[] = ['high', 'normal', 'low'];

/** One request of an SLA replay: when it arrives, what it costs, its class and (optional) deadline. */
export interface SlaRequest {
  readonly id: number;
  readonly owner: string;
  readonly arrivalMs: number;
  readonly costMs: number;
  readonly priorityClass: PriorityClass;
  readonly deadlineAtMs: number | undefined;
}

/** What orders waiting requests: FIFO, or our priority/SLA queue. */
export interface Scheduler {
  readonly name: string;
  /** False when the scheduler refuses it (admission control); the replay counts it as rejected. */
  push(request: SlaRequest, nowMs: number): boolean;
  /** The next request to start on a free server; `idleServers` counts the free ones, this one included (for reserves). */
  pop(nowMs: number, idleServers: number): SlaRequest | undefined;
}

export interface ClassOutcome {
  readonly priorityClass: PriorityClass;
  readonly requests: number;
  readonly completed: number;
  readonly rejected: number;
  /** Completed after their deadline (rejected ones are counted apart). */
  readonly deadlineMisses: number;
  readonly missPercent: number;
  readonly waitMsP50: number;
  readonly waitMsP99: number;
}

export interface SlaOutcome {
  readonly scheduler: string;
  readonly servers: number;
  readonly classes: readonly ClassOutcome[];
}

/**
 * Discrete-event replay of requests on `servers` identical servers: events are arrivals and
 * completions, visited in time order; a free server takes the scheduler's next request.
 * Deterministic: the same requests and scheduler give the same outcome.
 */
export function replaySla(requests: readonly SlaRequest[], servers: number, scheduler: Scheduler): SlaOutcome {
  const idle = Number.NEGATIVE_INFINITY;
  const busyUntil = new Float64Array(servers).fill(idle);
  const tally = new Tally();
  let next = 0;
  for (;;) {
    const arrivalMs = next < requests.length ? requests[next]!.arrivalMs : Number.POSITIVE_INFINITY;
    const server = firstToFinish(busyUntil);
    const finishMs = server < 0 ? Number.POSITIVE_INFINITY : busyUntil[server]!;
    if (arrivalMs === Number.POSITIVE_INFINITY && finishMs === Number.POSITIVE_INFINITY) break;
    if (arrivalMs <= finishMs) {
      const request = requests[next++]!;
      tally.arrived(request, scheduler.push(request, arrivalMs));
      for (let s = 0; s < servers; s++) if (busyUntil[s] === idle) startNext(s, arrivalMs);
    } else {
      busyUntil[server] = idle;
      startNext(server, finishMs);
    }
  }
  return { scheduler: scheduler.name, servers, classes: PRIORITY_CLASSES.map((c) => tally.outcome(c)) };

  function startNext(server: number, nowMs: number): void {
    let idleServers = 0;
    for (let s = 0; s < servers; s++) if (busyUntil[s] === idle) idleServers += 1;
    const request = scheduler.pop(nowMs, idleServers);
    if (!request) return;
    busyUntil[server] = nowMs + request.costMs;
    tally.served(request, nowMs, nowMs + request.costMs);
  }
}

/** The busy server that finishes first, or −1 when all are idle. */
function firstToFinish(busyUntil: Float64Array): number {
  let best = -1;
  for (let server = 0; server < busyUntil.length; server++) {
    const until = busyUntil[server]!;
    if (until !== Number.NEGATIVE_INFINITY && (best < 0 || until < busyUntil[best]!)) best = server;
  }
  return best;
}

class Tally {
  private readonly counts = new Map(PRIORITY_CLASSES.map((c) => [c, { requests: 0, completed: 0, rejected: 0, misses: 0, waits: [] as number[] }]));

  arrived(request: SlaRequest, accepted: boolean): void {
    const count = this.counts.get(request.priorityClass)!;
    count.requests += 1;
    if (!accepted) count.rejected += 1;
  }

  served(request: SlaRequest, startMs: number, finishMs: number): void {
    const count = this.counts.get(request.priorityClass)!;
    count.completed += 1;
    count.waits.push(startMs - request.arrivalMs);
    if (request.deadlineAtMs !== undefined && finishMs > request.deadlineAtMs) count.misses += 1;
  }

  outcome(priorityClass: PriorityClass): ClassOutcome {
    const count = this.counts.get(priorityClass)!;
    return classOutcome(priorityClass, count, count.waits);
  }
}

function classOutcome(priorityClass: PriorityClass, count: { requests: number; completed: number; rejected: number; misses: number }, waits: number[]): ClassOutcome {
  waits.sort((a, b) => a - b);
  return {
    priorityClass, requests: count.requests, completed: count.completed, rejected: count.rejected, deadlineMisses: count.misses,
    missPercent: count.completed > 0 ? (100 * count.misses) / count.completed : 0,
    waitMsP50: percentile(waits, 50), waitMsP99: percentile(waits, 99),
  };
}
