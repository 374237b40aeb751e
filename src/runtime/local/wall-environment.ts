import type { Environment, Timers } from '../../core/environment.js';

/**
 * The real world: monotonic time and Node's timers, unref'd (a swarm's timers never keep a process alive on their
 * own: its pending jobs and swarmlets do), unless one is asked to (`keepAlive`: a wait that may be all that is left).
 */
const nodeTimers: Timers = {
  every(ms, run) {
    const timer = setInterval(run, ms).unref();
    return () => clearInterval(timer);
  },
  after(ms, run, options) {
    const timer = setTimeout(run, ms);
    if (!options?.keepAlive) timer.unref();
    return () => clearTimeout(timer);
  },
};

export const wallEnvironment: Environment = { clock: { nowMs: () => performance.now() }, timers: nodeTimers };

/**
 * The same timers with the epoch clock: what the cluster stores in Redis (heartbeats, leases, outcomes) is compared
 * across machines and restarts, where a process's monotonic clock means nothing.
 */
export const epochEnvironment: Environment = { clock: { nowMs: () => Date.now() }, timers: nodeTimers };
