import type { Admission, PriorityClass, SlaRequest } from './sla-replay.js';

/**
 * Admission control at arrival. Under overload a request that cannot be served in time is refused
 * at once, with a reason, instead of being queued to miss its deadline and delay the requests that
 * could still make theirs. What is admitted stays queued until served: nothing accepted is lost.
 *
 * The test is the classic one for earliest-deadline-first: admitted work is kept in due order
 * (deadline; for work without one, arrival + its wait limit), and a newcomer is admitted when
 *  - its predicted wait (work due before it, plus the work that goes before every admitted
 *    request, ÷ the servers admitted work may use) still lets it finish by its deadline, or
 *    for work without a deadline, stays within the wait limit; and
 *  - no admitted request due after it, on time so far, would be pushed past its deadline.
 * The servers exclude the high reserve, which is sized above forecast high demand: that also
 * pays for high work arriving during the wait. The order mirrors the SLA queue's once classes
 * have aged to the same level, which under overload they have (see SLA_SCHEDULER_DEFAULTS).
 */
export interface AdmissionOptions {
  /**
   * Classes never refused and served before all admitted work. High: the reserve and the queue
   * order are what serve it; refusing it would only hide its misses.
   */
  readonly exempt: readonly PriorityClass[];
  /**
   * Work without a deadline is refused when its predicted wait exceeds this. Generous: low work
   * waits out the bursts and runs in the lulls between them instead of being refused.
   */
  readonly noDeadlineWaitLimitMs: number;
}

/**
 * 10 min for low work: on the LLM trace at 1.5×, 47–54% of low requests complete (seeds 1–30), p99
 * wait 11–14 min (seeds 1–3). 20 min completes ~67%, but keeps more long low work on the servers
 * when high bursts come: high misses then reach 0.8% on the worst seed (0.23% at 10 min).
 */
export const ADMISSION_DEFAULTS: AdmissionOptions = { exempt: ['high'], noDeadlineWaitLimitMs: 600_000 };

/** What admitted work shares now. */
export interface Capacity {
  /** Servers admitted (non-exempt) work may use. */
  readonly servers: number;
  /** Work that goes before any admitted request: exempt work queued, and what runs on those servers. */
  readonly aheadMs: number;
}

interface Admitted {
  readonly id: number;
  readonly priorityClass: PriorityClass;
  readonly dueMs: number;
  readonly costMs: number;
  readonly deadlineAtMs: number | undefined;
}

export class AdmissionControl {
  /** Admitted requests still queued, by due time then id. */
  private readonly queued: Admitted[] = [];
  private readonly byId = new Map<number, Admitted>();

  constructor(readonly options: AdmissionOptions = ADMISSION_DEFAULTS) {
    const limitMs = options.noDeadlineWaitLimitMs;
    if (!(limitMs >= 0))
      throw new RangeError(
        `admission noDeadlineWaitLimitMs = ${limitMs}: use a wait ≥ 0 ms (Infinity: never refuse work without a deadline)`,
      );
  }

  /** Admit or refuse `request` arriving at `nowMs`; changes nothing (call `add` once it is queued). */
  check(request: SlaRequest, nowMs: number, capacity: Capacity): Admission {
    if (this.options.exempt.includes(request.priorityClass)) return ACCEPTED;
    const servers = Math.max(1, capacity.servers);
    const index = this.indexOf(this.dueMs(request, nowMs), request.id);
    let aheadMs = capacity.aheadMs;
    for (let k = 0; k < index; k++) aheadMs += this.queued[k]!.costMs;
    const waitMs = aheadMs / servers;
    const who = `${request.priorityClass} request ${request.id}`;
    const because = `predicted wait ${seconds(waitMs)} (${seconds(aheadMs)} of work ahead ÷ ${servers} server${servers === 1 ? '' : 's'})`;
    if (request.deadlineAtMs !== undefined && nowMs + waitMs + request.costMs > request.deadlineAtMs) {
      return refuse(
        'deadline-unreachable',
        `${who} refused: ${because} + its cost ${seconds(request.costMs)} ends after its deadline in ${seconds(request.deadlineAtMs - nowMs)}`,
      );
    }
    if (request.deadlineAtMs === undefined && waitMs > this.options.noDeadlineWaitLimitMs) {
      return refuse(
        'wait-over-limit',
        `${who} refused: ${because} exceeds the limit of ${seconds(this.options.noDeadlineWaitLimitMs)} for work without a deadline`,
      );
    }
    const victim = this.firstPushedLate(index, nowMs, aheadMs + request.costMs, servers, request.costMs / servers);
    if (victim === undefined) return ACCEPTED;
    return refuse(
      'would-make-admitted-late',
      `${who} refused: ${because}; served before admitted ${victim.priorityClass} request ${victim.id}, it would push that one past its deadline`,
    );
  }

  /** `request` was queued: it now waits ahead of later-due newcomers. */
  add(request: SlaRequest, nowMs: number): void {
    if (this.options.exempt.includes(request.priorityClass)) return;
    const admitted = {
      id: request.id,
      priorityClass: request.priorityClass,
      dueMs: this.dueMs(request, nowMs),
      costMs: request.costMs,
      deadlineAtMs: request.deadlineAtMs,
    };
    this.queued.splice(this.indexOf(admitted.dueMs, admitted.id), 0, admitted);
    this.byId.set(admitted.id, admitted);
  }

  /** `id` left the queue (it started): nothing waits behind it any more. */
  remove(id: number): void {
    const admitted = this.byId.get(id);
    if (admitted === undefined) return;
    this.byId.delete(id);
    this.queued.splice(this.indexOf(admitted.dueMs, id), 1);
  }

  private dueMs(request: SlaRequest, nowMs: number): number {
    return request.deadlineAtMs ?? nowMs + this.options.noDeadlineWaitLimitMs;
  }

  /**
   * The first admitted request behind `index` that would finish on time without the newcomer but
   * late with it (it starts `delayMs` later). Late ones already do not veto: they would block
   * every newcomer without being helped by it.
   */
  private firstPushedLate(
    index: number,
    nowMs: number,
    aheadMs: number,
    servers: number,
    delayMs: number,
  ): Admitted | undefined {
    for (let k = index; k < this.queued.length; k++) {
      const admitted = this.queued[k]!;
      const finishMs = nowMs + aheadMs / servers + admitted.costMs; // with the newcomer ahead
      if (
        admitted.deadlineAtMs !== undefined &&
        finishMs > admitted.deadlineAtMs &&
        finishMs - delayMs <= admitted.deadlineAtMs
      )
        return admitted;
      aheadMs += admitted.costMs;
    }
    return undefined;
  }

  /** Where (due, id) sits in `queued`: the first entry not before it (binary search). */
  private indexOf(dueMs: number, id: number): number {
    let low = 0;
    let high = this.queued.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const entry = this.queued[middle]!;
      if (entry.dueMs < dueMs || (entry.dueMs === dueMs && entry.id < id)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

const ACCEPTED: Admission = { accepted: true };

function refuse(reason: string, message: string): Admission {
  return { accepted: false, reason, message };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
