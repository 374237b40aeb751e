import type { Decision } from '../core/actions.js';
import type { Snapshot } from './snapshot.js';

/** A pure decider: its own state and a snapshot in, its new state and a decision out. */
export interface Policy<S = unknown> {
  readonly name: string;
  initialState(): S;
  decide(state: S, snapshot: Snapshot): { readonly state: S; readonly decision: Decision };
}
