/**
 * Where task types broke a node's consent caps, as the director learns it from the log (`fault` entries with
 * `capBreak`: the agent stopped a swarmlet of the type for holding more memory than the owner allows). A micro-task
 * that did it once on a node will most likely do it again there, so that node is kept out of the type's placements for
 * a while and its swarmlets of the type are withdrawn: the retried micro-task goes to another node. Unless every live
 * node broke it lately: then it runs where it can, and if it keeps breaking the caps its attempts run out and its job
 * fails with the reason (never a silent wait). Time is passed in.
 */

/** How long a node stays out of a type's placements after the type broke its caps there. */
export const CAP_BREAK_MEMORY_MS = 60_000;
/** Types remembered at most (oldest forgotten first): a bound on what a flood of faults can make the director hold. */
const MAX_TYPES = 1_000;

export class CapBreaks {
  /** Task type → node id → the latest break there. */
  private readonly byType = new Map<string, Map<string, { readonly reason: string; readonly atMs: number }>>();

  record(nodeId: string, taskType: string, reason: string, atMs: number): void {
    const nodes = this.byType.get(taskType) ?? new Map();
    nodes.set(nodeId, { reason, atMs });
    this.byType.delete(taskType); // re-inserted last: the map's order is the eviction order
    this.byType.set(taskType, nodes);
    if (this.byType.size > MAX_TYPES) this.byType.delete(this.byType.keys().next().value!);
  }

  /**
   * The live nodes kept out of the type's placements now, with the reason; none when that would be every live node
   * (the type has nowhere else to run).
   */
  keptOut(taskType: string, nowMs: number, liveNodeIds: ReadonlySet<string>): Map<string, string> {
    const recent = new Map<string, string>();
    for (const [nodeId, { reason, atMs }] of this.byType.get(taskType) ?? []) {
      const agoMs = nowMs - atMs;
      if (agoMs < CAP_BREAK_MEMORY_MS && liveNodeIds.has(nodeId))
        recent.set(nodeId, `${reason} (${Math.round(agoMs / 1000)} s ago)`);
    }
    return recent.size < liveNodeIds.size ? recent : new Map();
  }
}
