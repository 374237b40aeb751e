import { SlaQueue, type SlaQueueOptions } from '../../schedule/sla-queue.js';
import { ADMISSION_DEFAULTS, AdmissionControl, type AdmissionOptions, type Capacity } from './admission.js';
import { HIGH_RESERVE_DEFAULTS, HighReserve, type HighReserveOptions } from './high-reserve.js';
import { type Admission, type Scheduler, type ServerView, type SlaRequest } from './sla-replay.js';

/** First come, first served, everything admitted: the baseline every queue starts as. */
export function fifoScheduler(): Scheduler {
  const queue: SlaRequest[] = [];
  let head = 0;
  return {
    name: 'fifo',
    push(request) {
      queue.push(request);
      return ACCEPTED;
    },
    pop() {
      return head < queue.length ? queue[head++] : undefined;
    },
  };
}

export interface SlaSchedulerOptions {
  readonly queue: SlaQueueOptions;
  /** Servers held for high work: a fixed count, or sized from forecast high demand. */
  readonly reserve: { readonly fixedServers: number } | HighReserveOptions;
  /**
   * Reserved servers lend themselves to lower work that ends within this: a high arrival then
   * waits at most this long for one, well inside high's deadline slack (30 s on the LLM trace),
   * and short lower work fills servers the reserve would otherwise keep idle.
   */
  readonly lendWithinMs: number;
  /** Admission control at arrival; `false` queues everything. */
  readonly admission: AdmissionOptions | false;
}

export const SLA_SCHEDULER_DEFAULTS: SlaSchedulerOptions = {
  // Aging stops below high: under sustained overload, old lower work tying fresh high work made
  // high miss its deadlines (see sla-queue.ts). Low work without a deadline is due (about) when
  // its admission wait limit has passed, so the queue serves it in the order admission predicts:
  // after fresher normal work, yet within the limit — bounded waits, no starvation.
  // High work in pure deadline order (no per-owner shares inside it): see `fairShareClasses`.
  queue: {
    agingBelowHigh: true,
    noDeadlineSlackMs: ADMISSION_DEFAULTS.noDeadlineWaitLimitMs,
    fairShareClasses: ['normal', 'low'],
  },
  reserve: HIGH_RESERVE_DEFAULTS,
  lendWithinMs: 10_000,
  admission: ADMISSION_DEFAULTS,
};

/**
 * Our SLA queue (class levels with aging, EDF, per-owner fairness) as a replay scheduler, with
 * admission control for the classes below high and a reservation of capacity for high work sized
 * from forecast high demand: lower work may hold at most `total − reserve` servers beyond the
 * lending horizon, so the reserved servers are busy with high work, free for it, or about to be.
 * The reserve assumes high is served first (`agingBelowHigh`). A long lower item held back at the
 * head of the queue also holds back the lower items behind it until a server frees (the queue
 * has no "next that fits"); high work is never held back.
 */
export function slaScheduler(options: SlaSchedulerOptions = SLA_SCHEDULER_DEFAULTS): Scheduler {
  if (!(options.lendWithinMs >= 0))
    throw new RangeError(
      `sla scheduler lendWithinMs = ${options.lendWithinMs}: use a time ≥ 0 ms (0: reserved servers never run lower work)`,
    );
  const queue = new SlaQueue(options.queue);
  const waiting = new Map<number, SlaRequest>();
  const reserve = reserveOf(options.reserve);
  const admission = options.admission ? new AdmissionControl(options.admission) : undefined;
  return {
    name: `sla-queue (${reserve.label}${admission ? ', admission' : ''})`,
    push(request, nowMs, servers) {
      if (request.priorityClass === 'high') reserve.observe(nowMs, request.costMs);
      const admitted = admission?.check(request, nowMs, lowerCapacity(nowMs, servers)) ?? ACCEPTED;
      if (!admitted.accepted) return admitted;
      const pushed = queue.push({ ...request, enqueuedAtMs: nowMs });
      if (!pushed.accepted) return { accepted: false, reason: `queue-${pushed.reason}`, message: pushed.message };
      waiting.set(request.id, request);
      admission?.add(request, nowMs);
      return ACCEPTED;
    },
    pop(nowMs, servers) {
      const next = queue.peek(nowMs);
      if (!next) return undefined;
      if (next.priorityClass !== 'high' && !mayStartLower(next.costMs, nowMs, servers)) return undefined;
      const request = waiting.get(queue.pop(nowMs)!.id)!;
      waiting.delete(request.id);
      admission?.remove(request.id);
      return request;
    },
  };

  /** Servers lower classes may occupy now: all but the high reserve. */
  function lowerServers(nowMs: number, servers: ServerView): number {
    return servers.total - reserve.serversAt(nowMs, servers.total);
  }

  /** Lower work may hold a server past the lending horizon only outside the reserve. */
  function mayStartLower(costMs: number, nowMs: number, servers: ServerView): boolean {
    const horizonMs = nowMs + options.lendWithinMs;
    if (nowMs + costMs <= horizonMs) return true;
    let held = 1;
    for (const run of servers.running) if (run.priorityClass !== 'high' && run.untilMs > horizonMs) held += 1;
    return held <= lowerServers(nowMs, servers);
  }

  /** What admitted (lower-class) work shares: its servers, after queued high work and what runs on them. */
  function lowerCapacity(nowMs: number, servers: ServerView): Capacity {
    let aheadMs = queue.stats().byClass.high.costMs;
    for (const run of servers.running) if (run.priorityClass !== 'high') aheadMs += Math.max(0, run.untilMs - nowMs);
    return { servers: lowerServers(nowMs, servers), aheadMs };
  }
}

const ACCEPTED: Admission = { accepted: true };

interface Reserve {
  readonly label: string;
  observe(arrivalMs: number, costMs: number): void;
  serversAt(nowMs: number, totalServers: number): number;
}

function reserveOf(options: SlaSchedulerOptions['reserve']): Reserve {
  if ('fixedServers' in options) {
    const { fixedServers } = options;
    return {
      label: `reserve ${fixedServers}`,
      observe: () => undefined,
      serversAt: (_nowMs, total) => Math.min(fixedServers, total - 1),
    };
  }
  const forecast = new HighReserve(options);
  return {
    label: 'forecast reserve',
    observe: (at, cost) => forecast.observe(at, cost),
    serversAt: (at, total) => forecast.serversAt(at, total),
  };
}
