import { formatSeconds } from './format.js';
import { liveness, type HealthOptions } from './node-health.js';

/**
 * The cluster node lifecycle as one transition table (STYLE.md §6), like the swarmlet's in
 * core/swarmlet-lifecycle.ts. Every legal edge is listed with why it happens; anything else is a
 * bug and throws. A node never seen has no state (`undefined`, written "unseen"); its first
 * heartbeat is the join step. Pure: time comes in as measured silence, never from a clock.
 */
export type NodeState = 'alive' | 'suspect' | 'draining' | 'dead';

const GONE =
  'heartbeat key expired or the node left: its swarmlets are placed elsewhere, its leased micro-tasks return by lock expiry';
const REVOKED = 'consent revoked: its swarmlets leave now and its micro-tasks are reassigned';

/** The join step (from unseen). A node that joins with consent withheld is known to reports but takes no work. */
const JOINS: Readonly<Partial<Record<NodeState, string>>> = {
  alive: 'first heartbeat: joins as a new bidder',
  draining: 'first heartbeat with consent withheld: known, but takes no work until consent is granted',
};

const TRANSITIONS: Readonly<Record<NodeState, Readonly<Partial<Record<NodeState, string>>>>> = {
  alive: {
    suspect: 'heartbeat late: no new placements',
    draining: REVOKED,
    dead: GONE,
  },
  suspect: {
    alive: 'beat again: placements resume',
    draining: REVOKED,
    dead: GONE,
  },
  draining: {
    alive: 'consent granted again: bids again',
    // Consent back while the heartbeat is late: not alive yet, so still no new placements.
    suspect: 'consent granted again but heartbeat late: no new placements yet',
    dead: GONE,
  },
  dead: {
    alive: 'it came back: rejoins as a new bidder, with its measured reliability kept',
    draining: 'it came back with consent revoked: known, but takes no work until consent is granted',
    // No dead → suspect: a dead node needs a fresh, timely heartbeat to count again.
  },
};

export const NODE_STATES: readonly NodeState[] = Object.keys(TRANSITIONS) as NodeState[];

/** `from === undefined` is the join step of a node never seen before. */
export function canNodeTransition(from: NodeState | undefined, to: NodeState): boolean {
  return edgesFrom(from)[to] !== undefined;
}

/** Returns the edge's reason; throws on an illegal edge. */
export function nodeTransitionReason(from: NodeState | undefined, to: NodeState): string {
  const reason = edgesFrom(from)[to];
  if (reason === undefined) throw new Error(`illegal node transition ${from ?? 'unseen'} → ${to}`);
  return reason;
}

/** What the director sees of a node this tick. */
export interface NodeSighting {
  /** Its heartbeat key is there (the agent refreshes it with a TTL, so an absent key is an expired or deleted one). */
  readonly present: boolean;
  readonly consentGranted: boolean;
  /** Time since the last new heartbeat on the director's clock; undefined when none was ever timed. */
  readonly silentMs: number | undefined;
}

export interface NodeStep {
  /** Equal to the current state when nothing changes. */
  readonly state: NodeState;
  /** For a change, the edge's reason then the measured detail; otherwise why it stays. */
  readonly reason: string;
}

/**
 * The next state of a node from one sighting; undefined while a node never seen still has not sent
 * a timely heartbeat. Only ever returns legal edges (it builds the reason through the table).
 */
export function observeNode(
  current: NodeState | undefined,
  seen: NodeSighting,
  options: Pick<HealthOptions, 'ttlMs' | 'suspectAfterMs'>,
): NodeStep | undefined {
  const target = targetOf(current, seen, options);
  if (target === undefined) return undefined;
  if (target.state === current) return { state: current, reason: target.detail };
  return { state: target.state, reason: `${nodeTransitionReason(current, target.state)} — ${target.detail}` };
}

function targetOf(
  current: NodeState | undefined,
  seen: NodeSighting,
  options: Pick<HealthOptions, 'ttlMs' | 'suspectAfterMs'>,
): { state: NodeState; detail: string } | undefined {
  if (!seen.present) {
    if (current === undefined) return undefined;
    const last = seen.silentMs === undefined ? 'never timed' : `last heartbeat ${formatSeconds(seen.silentMs)} ago`;
    return { state: 'dead', detail: `heartbeat key gone, ${last}` };
  }
  // The time rules are node-health's: liveness of a heartbeat `silentMs` old.
  const view = liveness(seen.silentMs === undefined ? undefined : 0, seen.silentMs ?? 0, options);
  // "no heartbeat for 2.6 s (…)", without the state word
  const heartbeat = view.reason.slice(view.reason.indexOf(', ') + 2);
  // Joining and coming back both need a timely heartbeat: a stale one proves nothing about now.
  if (current === undefined && view.state !== 'alive') return undefined;
  if (current === 'dead' && view.state !== 'alive')
    return { state: 'dead', detail: `present, but no fresh heartbeat: ${heartbeat}` };
  if (view.state === 'dead') return { state: 'dead', detail: heartbeat };
  if (!seen.consentGranted) return { state: 'draining', detail: `consent revoked, ${heartbeat}` };
  if (current === 'draining') return { state: view.state, detail: `consent granted, ${heartbeat}` };
  return { state: view.state, detail: heartbeat };
}

function edgesFrom(from: NodeState | undefined): Readonly<Partial<Record<NodeState, string>>> {
  return from === undefined ? JOINS : TRANSITIONS[from];
}
