import type { Environment } from '../../core/environment.js';

/**
 * The real world: monotonic time and Node's timers, unref'd (a swarm's timers never keep a process alive on their
 * own: its pending jobs and swarmlets do).
 */
export const wallEnvironment: Environment = {
  clock: { nowMs: () => performance.now() },
  timers: {
    every(ms, run) {
      const timer = setInterval(run, ms).unref();
      return () => clearInterval(timer);
    },
    after(ms, run) {
      const timer = setTimeout(run, ms).unref();
      return () => clearTimeout(timer);
    },
  },
};
