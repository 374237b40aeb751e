import type { Timers } from '../core/environment.js';
import type { Operations } from './operations.js';

/** One server-sent event: its name and JSON data. */
export interface LiveEvent {
  readonly event: 'decision' | 'jobs' | 'status' | 'anomaly';
  readonly data: unknown;
}

/** How often the feed looks for news while someone listens: a decision reaches the dashboard within this. */
export const FEED_PERIOD_MS = 200;
/** The job list is looked at every JOBS_EVERY looks (sent when it changed), the status every STATUS_EVERY. */
const JOBS_EVERY = 2;
const STATUS_EVERY = 5;
/** The newest jobs sent in a `jobs` event (older ones: GET /api/jobs). */
const JOBS_SENT = 100;

/**
 * The live event stream's source: while anyone listens, looks at the operations every FEED_PERIOD_MS and sends what
 * changed (new decisions one by one, the job list, the status, new anomalies). Nobody listening: no work at all.
 */
export class LiveFeed {
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private stopTimer: (() => void) | undefined;
  private lastSeq = -1;
  private lastJobs = '';
  private anomaliesSeen = 0;
  private ticks = 0;

  constructor(
    private readonly operations: Operations,
    private readonly timers: Timers,
  ) {}

  get listening(): number {
    return this.listeners.size;
  }

  /** Starts listening; the listener first gets the current jobs and status. Returns the unsubscribe. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    const jobs = this.operations.jobs().slice(0, JOBS_SENT);
    // The first listener's list is the one the next looks compare with; a later one's may be newer than the others'.
    if (this.listeners.size === 0) {
      this.start();
      this.lastJobs = JSON.stringify(jobs);
    }
    this.listeners.add(listener);
    listener({ event: 'status', data: this.operations.status() });
    listener({ event: 'jobs', data: { jobs } });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    // New listeners see decisions from now on (older ones: GET /api/decisions).
    this.lastSeq = this.latestSeq();
    this.anomaliesSeen = this.operations.anomalies().length;
    this.stopTimer = this.timers.every(FEED_PERIOD_MS, () => this.look());
  }

  private latestSeq(): number {
    let seq = this.lastSeq;
    for (let page = this.operations.decisions(seq, 1000); page.length > 0; page = this.operations.decisions(seq, 1000))
      seq = page[page.length - 1]!.seq;
    return seq;
  }

  private stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  private look(): void {
    for (const decision of this.operations.decisions(this.lastSeq, 500)) {
      this.lastSeq = decision.seq;
      this.send({ event: 'decision', data: decision });
    }
    const anomalies = this.operations.anomalies();
    // The anomaly list keeps the last ones: once full, its length stays and the newest is last.
    if (anomalies.length !== this.anomaliesSeen) {
      for (const anomaly of anomalies.slice(this.anomaliesSeen)) this.send({ event: 'anomaly', data: anomaly });
      this.anomaliesSeen = anomalies.length;
    }
    this.ticks += 1;
    if (this.ticks % STATUS_EVERY === 0) this.send({ event: 'status', data: this.operations.status() });
    if (this.ticks % JOBS_EVERY !== 0) return;
    const jobs = this.operations.jobs().slice(0, JOBS_SENT);
    const text = JSON.stringify(jobs);
    if (text !== this.lastJobs) {
      this.lastJobs = text;
      this.send({ event: 'jobs', data: { jobs } });
    }
  }

  private send(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
