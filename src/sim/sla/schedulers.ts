import { SlaQueue, type SlaQueueOptions } from '../../schedule/sla-queue.js';
import type { Scheduler, SlaRequest } from './sla-replay.js';

/** First come, first served: the baseline every queue starts as. */
export function fifoScheduler(): Scheduler {
  const queue: SlaRequest[] = [];
  let head = 0;
  return {
    name: 'fifo',
    push(request) {
      queue.push(request);
      return true;
    },
    pop() {
      return head < queue.length ? queue[head++] : undefined;
    },
  };
}

/**
 * Our SLA queue (class levels with aging, EDF, per-owner fairness) as a replay scheduler, with a
 * reserve: lower classes may not take the last `reserveServers` free servers, which are kept for
 * high-priority arrivals (a reservation of capacity for predicted high demand).
 */
export function slaScheduler(options: SlaQueueOptions & { readonly reserveServers?: number } = {}): Scheduler {
  const queue = new SlaQueue(options);
  const waiting = new Map<number, SlaRequest>();
  const reserve = options.reserveServers ?? 0;
  return {
    name: reserve > 0 ? `sla-queue (reserve ${reserve})` : 'sla-queue',
    push(request, nowMs) {
      const accepted = queue.push({ ...request, enqueuedAtMs: nowMs }).accepted;
      if (accepted) waiting.set(request.id, request);
      return accepted;
    },
    pop(nowMs, idleServers) {
      const next = queue.peek(nowMs);
      if (!next || (next.priorityClass !== 'high' && idleServers <= reserve)) return undefined;
      const request = waiting.get(queue.pop(nowMs)!.id)!;
      waiting.delete(request.id);
      return request;
    },
  };
}
