import { describe, expect, it } from 'vitest';
import { FEED_PERIOD_MS, LiveFeed, type LiveEvent } from '../src/api/live-feed.js';
import type { Operations } from '../src/api/operations.js';
import type { AnomalyView, DecisionView, JobView } from '../src/api/schemas.js';
import { VirtualEnvironment } from '../src/sim/environment/virtual-environment.js';

/** Operations holding a decision log and a job list the test changes (the feed only reads). */
function fakeOperations(env: VirtualEnvironment) {
  const decisions: DecisionView[] = [];
  const jobs: JobView[] = [];
  const anomalies: AnomalyView[] = [];
  const operations = {
    mode: 'embedded',
    status: () => ({
      mode: 'embedded',
      policy: 'adaptive',
      uptimeMs: env.nowMs,
      jobs: { running: 0, done: 0, failed: 0 },
      microTasksDone: 0,
      throughputPerSec: 0,
      swarmlets: [],
    }),
    jobs: () => jobs,
    decisions: (after: number, limit: number) => decisions.filter((d) => d.seq > after).slice(0, limit),
    anomalies: () => anomalies,
    swarmlets: () => [],
    nodes: () => [],
    forecasts: () => [],
  } as unknown as Operations;
  const decide = (kind: string) =>
    decisions.push({ seq: decisions.length, atMs: env.nowMs, kind, reason: `because ${kind}` });
  /** Like the usage tracker's list: the last `kept` only. */
  const anomaly = (microTask: string, kept = 3) => {
    anomalies.push({ atMs: env.nowMs, taskType: 't', microTask, ratio: 5, phase: 'completed', reason: 'slow' });
    if (anomalies.length > kept) anomalies.shift();
  };
  return { operations, decide, jobs, anomaly };
}

const advanceTo = (env: VirtualEnvironment, ms: number) => {
  while (env.nowMs < ms && env.step());
};

describe('the live event feed (virtual clock)', () => {
  it('sends each new decision once, within one period of its logging; a new listener gets none from before', () => {
    const env = new VirtualEnvironment();
    const { operations, decide } = fakeOperations(env);
    const feed = new LiveFeed(operations, env.timers);
    decide('replicate'); // before anyone listens: not sent
    const events: (LiveEvent & { atMs: number })[] = [];
    feed.subscribe((event) => events.push({ ...event, atMs: env.nowMs }));
    expect(events.map((e) => e.event)).toEqual(['status', 'jobs']);
    env.timers.after(130, () => decide('specialize'));
    env.timers.after(470, () => decide('deprovision'));
    advanceTo(env, 1_000);
    const sent = events.filter((e) => e.event === 'decision');
    expect(sent.map((e) => (e.data as DecisionView).kind)).toEqual(['specialize', 'deprovision']);
    for (const e of sent) expect(e.atMs - (e.data as DecisionView).atMs).toBeLessThanOrEqual(FEED_PERIOD_MS);
  });

  it('sends the job list only when it changed, and sets no timer while nobody listens', () => {
    const env = new VirtualEnvironment();
    const { operations, jobs } = fakeOperations(env);
    const feed = new LiveFeed(operations, env.timers);
    const events: LiveEvent[] = [];
    const stop = feed.subscribe((event) => events.push(event));
    advanceTo(env, 2_000);
    expect(events.filter((e) => e.event === 'jobs')).toHaveLength(1); // the first, on subscribe
    jobs.push({ id: '1' } as JobView);
    advanceTo(env, 4_000);
    expect(events.filter((e) => e.event === 'jobs')).toHaveLength(2);
    expect(events.filter((e) => e.event === 'status')).toHaveLength(1 + 4); // on subscribe, then once a second
    stop();
    expect(feed.listening).toBe(0);
    expect(env.step()).toBe(false); // its timer is gone: an unwatched swarm does no feed work
  });
});

it('sends every new anomaly once, also once the kept list is full and its length stays', () => {
  const env = new VirtualEnvironment();
  const { operations, anomaly } = fakeOperations(env);
  const feed = new LiveFeed(operations, env.timers);
  anomaly('old');
  const sent: string[] = [];
  feed.subscribe((event) => event.event === 'anomaly' && sent.push((event.data as AnomalyView).microTask));
  for (const [i, name] of ['a', 'b', 'c', 'd', 'e'].entries()) env.timers.after(100 + i * 300, () => anomaly(name));
  env.timers.after(1_000, () => (anomaly('f'), anomaly('g'))); // two between looks
  advanceTo(env, 3_000);
  expect(sent).toEqual(['a', 'b', 'c', 'd', 'f', 'g', 'e']); // in the order they were noted; 'old' came before
});

it('sends the swarmlets, nodes and forecasts within 2 s to each listener, a late one too, then only on change', () => {
  const env = new VirtualEnvironment();
  const { operations } = fakeOperations(env);
  const feed = new LiveFeed(operations, env.timers);
  const first: string[] = [];
  const late: string[] = [];
  feed.subscribe((event) => first.push(event.event));
  advanceTo(env, 5_000);
  feed.subscribe((event) => late.push(event.event));
  advanceTo(env, 7_000);
  for (const list of ['swarmlets', 'nodes', 'forecasts'])
    expect([first.filter((e) => e === list).length, late.filter((e) => e === list).length]).toEqual([2, 1]);
});
