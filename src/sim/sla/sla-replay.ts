import assert from 'node:assert/strict';
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

/** A scheduler's answer at arrival: queued, or refused with a reason code and a message. */
export type Admission =
  { readonly accepted: true } | { readonly accepted: false; readonly reason: string; readonly message: string };

/** The servers as a scheduler sees them when it decides. */
export interface ServerView {
  readonly total: number;
  /** What each busy server runs and when it frees (the free ones are `total − running.length`). */
  readonly running: readonly { readonly priorityClass: PriorityClass; readonly untilMs: number }[];
}

/** What orders waiting requests: FIFO, or our priority/SLA queue. */
export interface Scheduler {
  readonly name: string;
  /** Queue it, or refuse it (admission control): the replay counts refusals apart, by reason. */
  push(request: SlaRequest, nowMs: number, servers: ServerView): Admission;
  /** The next request to start on a free server, or none (empty, or held back by a reserve). */
  pop(nowMs: number, servers: ServerView): SlaRequest | undefined;
}

/** Refusals of one reason in one class, with the first message as an example. */
export interface Rejections {
  readonly reason: string;
  readonly count: number;
  readonly example: string;
}

export interface ClassOutcome {
  readonly priorityClass: PriorityClass;
  readonly requests: number;
  readonly completed: number;
  readonly rejected: number;
  readonly rejections: readonly Rejections[];
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
 * Discrete-event replay of requests on `servers` identical, non-preemptive servers: events are
 * arrivals and completions, visited in time order; after each, free servers take the scheduler's
 * next requests. Deterministic: the same requests and scheduler give the same outcome. Every
 * request ends completed or rejected at arrival; an accepted one left unserved is a broken
 * scheduler and fails the replay (nothing accepted is lost).
 */
export function replaySla(requests: readonly SlaRequest[], servers: number, scheduler: Scheduler): SlaOutcome {
  const busyUntil = new Float64Array(servers).fill(IDLE);
  const running: (PriorityClass | undefined)[] = new Array<PriorityClass | undefined>(servers).fill(undefined);
  const view = (): ServerView => {
    const busy: { priorityClass: PriorityClass; untilMs: number }[] = [];
    for (let s = 0; s < servers; s++)
      if (running[s] !== undefined) busy.push({ priorityClass: running[s]!, untilMs: busyUntil[s]! });
    return { total: servers, running: busy };
  };
  const tally = new Tally();
  let next = 0;
  for (;;) {
    const arrivalMs = next < requests.length ? requests[next]!.arrivalMs : Number.POSITIVE_INFINITY;
    const server = firstToFinish(busyUntil);
    const finishMs = server < 0 ? Number.POSITIVE_INFINITY : busyUntil[server]!;
    if (arrivalMs === Number.POSITIVE_INFINITY && finishMs === Number.POSITIVE_INFINITY) break;
    if (arrivalMs <= finishMs) {
      const request = requests[next++]!;
      assert(
        next === 1 || request.arrivalMs >= requests[next - 2]!.arrivalMs,
        `requests must come in arrival order (request ${request.id})`,
      );
      tally.arrived(request, scheduler.push(request, arrivalMs, view()));
    } else {
      busyUntil[server] = IDLE;
      running[server] = undefined;
    }
    fillIdleServers(Math.min(arrivalMs, finishMs));
  }
  return { scheduler: scheduler.name, servers, classes: PRIORITY_CLASSES.map((c) => tally.outcome(c)) };

  /** All free servers, not only the one just freed: a reserve that shrank may release others. */
  function fillIdleServers(nowMs: number): void {
    for (let s = 0; s < servers; s++) {
      if (busyUntil[s] !== IDLE) continue;
      const request = scheduler.pop(nowMs, view());
      if (!request) return;
      busyUntil[s] = nowMs + request.costMs;
      running[s] = request.priorityClass;
      tally.served(request, nowMs, nowMs + request.costMs);
    }
  }
}

const IDLE = Number.NEGATIVE_INFINITY;

/** The busy server that finishes first, or −1 when all are idle. */
function firstToFinish(busyUntil: Float64Array): number {
  let best = -1;
  for (let server = 0; server < busyUntil.length; server++) {
    const until = busyUntil[server]!;
    if (until !== IDLE && (best < 0 || until < busyUntil[best]!)) best = server;
  }
  return best;
}

interface ClassCount {
  requests: number;
  completed: number;
  rejected: number;
  misses: number;
  readonly waits: number[];
  readonly rejections: Map<string, { count: number; example: string }>;
}

class Tally {
  private readonly counts = new Map<PriorityClass, ClassCount>(
    PRIORITY_CLASSES.map((c) => [
      c,
      { requests: 0, completed: 0, rejected: 0, misses: 0, waits: [], rejections: new Map() },
    ]),
  );

  arrived(request: SlaRequest, admission: Admission): void {
    const count = this.counts.get(request.priorityClass)!;
    count.requests += 1;
    if (admission.accepted) return;
    count.rejected += 1;
    const seen = count.rejections.get(admission.reason);
    if (seen) seen.count += 1;
    else count.rejections.set(admission.reason, { count: 1, example: admission.message });
  }

  served(request: SlaRequest, startMs: number, finishMs: number): void {
    const count = this.counts.get(request.priorityClass)!;
    count.completed += 1;
    count.waits.push(startMs - request.arrivalMs);
    if (request.deadlineAtMs !== undefined && finishMs > request.deadlineAtMs) count.misses += 1;
  }

  outcome(priorityClass: PriorityClass): ClassOutcome {
    const count = this.counts.get(priorityClass)!;
    const { requests, completed, rejected, misses } = count;
    assert.equal(
      completed + rejected,
      requests,
      `${priorityClass}: ${requests} requests, ${completed} completed + ${rejected} rejected: the scheduler lost accepted work`,
    );
    const waits = count.waits.sort((a, b) => a - b);
    return {
      priorityClass,
      requests,
      completed,
      rejected,
      deadlineMisses: misses,
      rejections: [...count.rejections].map(([reason, r]) => ({ reason, ...r })),
      missPercent: completed > 0 ? (100 * misses) / completed : 0,
      waitMsP50: percentile(waits, 50),
      waitMsP99: percentile(waits, 99),
    };
  }
}
