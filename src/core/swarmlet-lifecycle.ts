/**
 * The swarmlet lifecycle as one transition table (STYLE.md §6). Every legal edge is listed
 * with why it happens; anything else is a bug and throws.
 */
export type SwarmletState = 'starting' | 'warming' | 'idle' | 'busy' | 'draining' | 'stopped';

const TRANSITIONS: Readonly<Record<SwarmletState, Readonly<Partial<Record<SwarmletState, string>>>>> = {
  starting: {
    warming: 'process is up; loading the task-type module and running warmup',
    stopped: 'process exited or failed before it was up',
  },
  warming: {
    idle: 'module loaded and warmup done',
    stopped: 'module failed to load, or the process exited while warming',
  },
  idle: {
    busy: 'micro-tasks dispatched to it',
    warming: 'specialized to another task type: loading that module',
    draining: 'chosen to stop (deprovision or consolidate)',
    stopped: 'process exited',
  },
  busy: {
    idle: 'all dispatched micro-tasks finished',
    draining: 'chosen to stop: finishes what it holds first',
    stopped: 'process crashed or was killed mid-task',
  },
  draining: {
    stopped: 'drained and exited, or killed',
  },
  stopped: {},
};

export function canTransition(from: SwarmletState, to: SwarmletState): boolean {
  return TRANSITIONS[from][to] !== undefined;
}

/** Returns the edge's reason; throws on an illegal edge. */
export function transitionReason(from: SwarmletState, to: SwarmletState): string {
  const reason = TRANSITIONS[from][to];
  if (reason === undefined) throw new Error(`illegal swarmlet transition ${from} → ${to}`);
  return reason;
}

export const SWARMLET_STATES: readonly SwarmletState[] = Object.keys(TRANSITIONS) as SwarmletState[];
