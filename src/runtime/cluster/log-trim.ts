import type { LogBase } from './protocol.js';

type Counters = Omit<LogBase, 'minId'>;

/**
 * Where the director's log may be trimmed (no Redis here). Entries before the oldest running job's first entry are no
 * longer needed to rebuild anything; a point becomes due once it is `retentionMs` old (recent history stays to
 * inspect). A trim point stays valid later: every job running then or since began at or after it.
 */
export class LogTrimPoints {
  /** Running jobs in log order: the entry each began at and the id counters just before it. */
  private readonly runningSince = new Map<string, { readonly entryId: string; readonly counters: Counters }>();
  /** Trim points as they became safe, oldest first. */
  private candidates: { readonly atMs: number; readonly base: LogBase }[] = [];
  private trimmedTo = '0-0';

  constructor(private readonly retentionMs: number) {}

  /** The log already starts here (a base read at takeover). */
  restored(minId: string): void {
    this.trimmedTo = minId;
  }

  began(jobKey: string, entryId: string, counters: Counters): void {
    this.runningSince.set(jobKey, { entryId, counters });
  }

  ended(jobKey: string): void {
    this.runningSince.delete(jobKey);
  }

  /**
   * The base to trim to now, if one is due: after the last applied entry `lastLogId` with the tracker's `counters`
   * then. Call `trimmed` once it is written.
   */
  due(nowMs: number, lastLogId: string, counters: Counters): LogBase | undefined {
    if (lastLogId === '0-0') return undefined;
    const oldest = this.runningSince.values().next().value;
    const [ms, seq] = lastLogId.split('-').map(Number) as [number, number];
    const safe: LogBase = oldest
      ? { minId: oldest.entryId, ...oldest.counters }
      : { minId: `${ms}-${seq + 1}`, ...counters };
    if (this.candidates.at(-1)?.base.minId !== safe.minId) this.candidates.push({ atMs: nowMs, base: safe });
    const ripe = this.candidates.filter((c) => c.atMs <= nowMs - this.retentionMs);
    const base = ripe.at(-1)?.base;
    if (base === undefined || base.minId === this.trimmedTo) return undefined;
    this.candidates = this.candidates.slice(ripe.length);
    return base;
  }

  trimmed(minId: string): void {
    this.trimmedTo = minId;
  }
}
