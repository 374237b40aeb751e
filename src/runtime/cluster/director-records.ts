import type { Action } from '../../core/actions.js';
import type { PlacementDecision } from './cluster-pool.js';

/** A morphing action the director's policy took, what carrying it out did, and its place in the sequence. */
export interface MorphRecord {
  readonly seq: number;
  readonly atMs: number;
  readonly action: Action;
  readonly outcome: string;
}

/** Kept in memory for the API: recent history, bounded (Redis keeps the latest auctions too: `P:decisions`). */
export const MORPHS_KEPT = 2_000;
export const AUCTIONS_KEPT = 200;

/**
 * What the director decided, for the HTTP API: its morphing actions (numbered: a reader pages by `seq`) and its
 * placement auctions. One object for the whole `serve` process, shared by the directors a supervisor starts one after
 * another, so the numbering keeps increasing across a step-down.
 */
export class DirectorRecords {
  private readonly morphList: MorphRecord[] = [];
  private nextSeq = 0;
  private readonly auctionList: PlacementDecision[] = [];
  /** Actions taken per kind since the process started (a counter: only grows). */
  readonly morphCounts = new Map<string, number>();

  morph(atMs: number, action: Action, outcome: string): void {
    this.morphList.push({ seq: this.nextSeq++, atMs, action, outcome });
    if (this.morphList.length > MORPHS_KEPT) this.morphList.shift();
    this.morphCounts.set(action.kind, (this.morphCounts.get(action.kind) ?? 0) + 1);
  }

  auctions(decisions: readonly PlacementDecision[]): void {
    this.auctionList.push(...decisions);
    if (this.auctionList.length > AUCTIONS_KEPT) this.auctionList.splice(0, this.auctionList.length - AUCTIONS_KEPT);
  }

  /** Morphs with seq > after, oldest first, at most limit. */
  morphsAfter(after: number, limit: number): MorphRecord[] {
    const first = this.morphList[0]?.seq ?? this.nextSeq;
    const from = Math.max(0, after + 1 - first);
    return this.morphList.slice(from, from + limit);
  }

  /** Every morph kept (for swarmlets' own morph lists). */
  morphs(): readonly MorphRecord[] {
    return this.morphList;
  }

  /** The auctions kept, oldest first. */
  recentAuctions(): readonly PlacementDecision[] {
    return this.auctionList;
  }
}
