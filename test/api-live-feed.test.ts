import { describe, expect, it } from 'vitest';
import { FEED_PERIOD_MS, LiveFeed, type LiveEvent } from '../src/api/live-feed.js';
import type { Operations } from '../src/api/operations.js';
import type { DecisionView, JobView } from '../src/api/schemas.js';
import { VirtualEnvironment } from '../src/sim/environment/virtual-environment.js';

/** Operations holding a decision log and a job list the test changes (the feed only reads). */
function fakeOperations(env: VirtualEnvironment) {
  const decisions: DecisionView[] = [];
  const jobs: JobView[] = [];
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
    anomalies: () => [],
  } as unknown as Operations;
  const decide = (kind: string) =>
    decisions.push({ seq: decisions.length, atMs: env.nowMs, kind, reason: `because ${kind}` });
  return { operations, decide, jobs };
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
