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
