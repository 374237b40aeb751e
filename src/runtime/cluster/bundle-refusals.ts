/**
 * Which agents refused which task bundle, as the director learns it from the log (`refusal` entries). One agent's
 * trust is not the cluster's: an agent that trusts other keys refuses a bundle another agent runs. So a refusal takes
 * that node out of the bundle's placements (a filter with its reason), and the jobs needing the bundle fail only once
 * every live node has refused it: then no agent will ever run it, and waiting would be a silent hang.
 *
 * Refusals hold for the jobs running when they were made. A new job of the type gives every agent a new chance (an
 * agent that found a poisoned file in its cache removed it and runs the bundle now; a client that signs now stores the
 * same code hash with a signature), and a node that stops heart-beating is forgotten: when it comes back (perhaps
 * trusting other keys) it is asked again. Pure: refusals and live node ids in, filters and verdicts out.
 */

export interface NodeRefusal {
  readonly nodeId: string;
  /** The agent's words, with its fix. */
  readonly reason: string;
}

export class BundleRefusals {
  /** `<type>\n<hash>` → node id → reason. */
  private readonly byBundle = new Map<string, Map<string, string>>();

  record(refusal: { nodeId: string; taskType: string; hash: string; reason: string }): void {
    const key = bundleKey(refusal.taskType, refusal.hash);
    const nodes = this.byBundle.get(key) ?? new Map<string, string>();
    nodes.set(refusal.nodeId, refusal.reason);
    this.byBundle.set(key, nodes);
  }

  /** The nodes that refused this bundle, with their reasons (none for an unknown hash). */
  refusers(taskType: string, hash: string | undefined): ReadonlyMap<string, string> {
    return (hash === undefined ? undefined : this.byBundle.get(bundleKey(taskType, hash))) ?? new Map();
  }

  /** A new job of the type: every agent is asked again. */
  forgetType(taskType: string): void {
    for (const key of this.byBundle.keys()) if (key.startsWith(`${taskType}\n`)) this.byBundle.delete(key);
  }

  /** Forgets the refusals of nodes that are not live any more. */
  forgetExcept(liveNodeIds: ReadonlySet<string>): void {
    for (const [key, nodes] of this.byBundle) {
      for (const nodeId of nodes.keys()) if (!liveNodeIds.has(nodeId)) nodes.delete(nodeId);
      if (nodes.size === 0) this.byBundle.delete(key);
    }
  }

  /**
   * Every live node refused this bundle: their refusals, in node id order. Undefined while some live node has not
   * (it may run it), and when no node is live (a job waits for agents, as it always has).
   */
  refusedByEveryLiveNode(
    taskType: string,
    hash: string,
    liveNodeIds: Iterable<string>,
  ): readonly NodeRefusal[] | undefined {
    const refused = this.refusers(taskType, hash);
    const live = [...liveNodeIds].sort();
    if (live.length === 0 || !live.every((nodeId) => refused.has(nodeId))) return undefined;
    return live.map((nodeId) => ({ nodeId, reason: refused.get(nodeId)! }));
  }
}

function bundleKey(taskType: string, hash: string): string {
  return `${taskType}\n${hash}`;
}

/** What a job needing the bundle fails with: the type, the bundle and each agent's refusal. */
export function refusedEverywhereMessage(taskType: string, hash: string, refusals: readonly NodeRefusal[]): string {
  const each = refusals.map(({ nodeId, reason }) => `refused by agent ${nodeId}: ${reason}`);
  return `task type "${taskType}": bundle ${hash} ${each.join('; ')}`;
}
