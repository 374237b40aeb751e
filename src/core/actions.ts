/**
 * What a policy decides: a typed union of actions, each with the reason it was taken.
 * Decisions are values (STYLE.md §2): the runtime and the simulator act on them.
 */
export type Action =
  | { readonly kind: 'replicate'; readonly taskType: string; readonly reason: string }
  | {
      readonly kind: 'specialize';
      readonly swarmletId: string;
      readonly fromTaskType: string;
      readonly toTaskType: string;
      readonly reason: string;
    }
  | {
      readonly kind: 'consolidate';
      readonly swarmletId: string;
      readonly taskType: string;
      readonly reason: string;
    }
  | { readonly kind: 'deprovision'; readonly swarmletId: string; readonly reason: string }
  /**
   * Without a swarmlet: start a shadow swarmlet for the type; with one: preload the type into it (kept warm, not served
   * yet).
   */
  | { readonly kind: 'prewarm'; readonly taskType: string; readonly swarmletId?: string; readonly reason: string }
  | { readonly kind: 'reclaim'; readonly swarmletId: string; readonly reason: string };

export type ActionKind = Action['kind'];

/** What could not be done this tick and why (e.g. at the swarmlet limit). */
export interface Unplaced {
  readonly taskType: string;
  readonly wanted: number;
  readonly reason: string;
}

export interface Decision {
  readonly actions: readonly Action[];
  readonly unplaced: readonly Unplaced[];
}
