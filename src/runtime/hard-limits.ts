import type { SwarmletRecord } from './swarmlet-record.js';

/** Hard limits, enforced whatever the policy decides. Undefined: no limit. */
export interface HardLimits {
  readonly taskTimeoutMs: number | undefined;
  readonly swarmletMemoryLimitMb: number | undefined;
}

/**
 * Stops swarmlets that broke a hard limit: one busy past the task time limit since its last
 * progress (the micro-task at the head of its queue is the one running: the host runs them in
 * order), or one whose monitor reports more memory than allowed. The culprit is recorded so only
 * it pays a retry attempt; the rest of the swarmlet's micro-tasks are requeued as they were.
 */
export function enforceHardLimits(swarmlets: readonly SwarmletRecord[], limits: HardLimits, nowMs: number, kill: (swarmletId: string, reason: string) => void, labelOf: (taskId: number) => string | undefined): void {
  for (const swarmlet of swarmlets) {
    if (swarmlet.state === 'stopped' || swarmlet.limitCulprit !== undefined) continue;
    const running = swarmlet.inFlight.values().next().value as number | undefined;
    const rssMb = swarmlet.lastSample?.rssMb;
    if (limits.taskTimeoutMs !== undefined && running !== undefined && nowMs - swarmlet.progressAtMs > limits.taskTimeoutMs) {
      swarmlet.limitCulprit = running;
      kill(swarmlet.id, `was stopped: micro-task ${labelOf(running) ?? running} ran past its time limit of ${limits.taskTimeoutMs} ms`);
    } else if (limits.swarmletMemoryLimitMb !== undefined && rssMb !== undefined && rssMb > limits.swarmletMemoryLimitMb) {
      swarmlet.limitCulprit = running ?? -1;
      kill(swarmlet.id, `was stopped: it held ${Math.round(rssMb)} MB, over its memory limit of ${limits.swarmletMemoryLimitMb} MB`);
    }
  }
}
