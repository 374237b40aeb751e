import type { Timers } from '../core/environment.js';
import type { Operations } from './operations.js';

/** One server-sent event: its name and JSON data. */
export interface LiveEvent {
  readonly event: 'decision' | 'jobs' | 'status' | 'anomaly' | 'swarmlets' | 'nodes' | 'forecasts';
  readonly data: unknown;
}

/** How often the feed looks for news while someone listens: a decision reaches the dashboard within this. */
export const FEED_PERIOD_MS = 200;
/** The status is sent every STATUS_EVERY looks; the lists below are looked at as often and sent when they changed. */
const STATUS_EVERY = 5;
const LISTS_EVERY = { jobs: 2, swarmlets: 5, nodes: 10, forecasts: 10 } as const;
/** The newest jobs sent in a `jobs` event (older ones: GET /api/jobs). */
const JOBS_SENT = 100;
/** The newest swarmlets sent in a `swarmlets` event (as GET /api/swarmlets answers by default). */
const SWARMLETS_SENT = 1000;

/**
 * The live event stream's source: while anyone listens, looks at the operations every FEED_PERIOD_MS and sends what
 * changed: new decisions and anomalies one by one, the status every second, and the job list (every 400 ms), the
 * swarmlets (every second), the nodes and the forecasts (every 2 s) when they changed. Nobody listening: no work.
 */
export class LiveFeed {
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private stopTimer: (() => void) | undefined;
  private lastSeq = -1;
  /** What each list last sent looked like (its JSON). */
  private readonly lastSent = new Map<keyof typeof LISTS_EVERY, string>();
  /** The newest anomaly sent (the list keeps the last ones: once full its length stays, so it is told by key). */
  private lastAnomaly: string | undefined;
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
    // Every read before anything is kept: a read that throws (no director here yet) leaves nothing subscribed.
    const status = this.operations.status();
    const jobs = this.operations.jobs().slice(0, JOBS_SENT);
    // The first listener's list is the one the next looks compare with; a later one's may be newer than the others'.
    if (this.listeners.size === 0) {
      this.start();
      this.lastSent.set('jobs', JSON.stringify(jobs));
    }
    // The other lists go to everyone at their next look, the newcomer included.
    for (const list of ['swarmlets', 'nodes', 'forecasts'] as const) this.lastSent.delete(list);
    this.listeners.add(listener);
    listener({ event: 'status', data: status });
    listener({ event: 'jobs', data: { jobs } });
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    // New listeners see decisions from now on (older ones: GET /api/decisions).
    this.lastSeq = this.latestSeq();
    const anomalies = this.operations.anomalies();
    this.lastAnomaly = anomalies.length > 0 ? anomalyKey(anomalies[anomalies.length - 1]!) : undefined;
    this.stopTimer = this.timers.every(FEED_PERIOD_MS, () => {
      // A read that throws in a timer would end the process: that look is skipped, the next may answer.
      try {
        this.look();
      } catch {
        // nothing sent this time
      }
    });
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
    this.sendNewAnomalies();
    this.ticks += 1;
    if (this.ticks % STATUS_EVERY === 0) this.send({ event: 'status', data: this.operations.status() });
    for (const list of Object.keys(LISTS_EVERY) as (keyof typeof LISTS_EVERY)[])
      if (this.ticks % LISTS_EVERY[list] === 0) this.sendIfChanged(list);
  }

  private sendNewAnomalies(): void {
    const anomalies = this.operations.anomalies();
    const keys = anomalies.map(anomalyKey);
    const from = this.lastAnomaly === undefined ? 0 : keys.lastIndexOf(this.lastAnomaly) + 1;
    for (const anomaly of anomalies.slice(from)) this.send({ event: 'anomaly', data: anomaly });
    if (keys.length > 0) this.lastAnomaly = keys[keys.length - 1];
  }

  private sendIfChanged(list: keyof typeof LISTS_EVERY): void {
    const data =
      list === 'jobs'
        ? { jobs: this.operations.jobs().slice(0, JOBS_SENT) }
        : list === 'swarmlets'
          ? { swarmlets: this.operations.swarmlets().slice(-SWARMLETS_SENT) }
          : list === 'nodes'
            ? { nodes: this.operations.nodes() }
            : { forecasts: this.operations.forecasts() };
    const text = JSON.stringify(Object.values(data)[0]);
    if (text === this.lastSent.get(list)) return;
    this.lastSent.set(list, text);
    this.send({ event: list, data });
  }

  private send(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function anomalyKey(anomaly: { atMs: number; microTask: string; phase: string }): string {
  return `${anomaly.atMs}|${anomaly.microTask}|${anomaly.phase}`;
}
