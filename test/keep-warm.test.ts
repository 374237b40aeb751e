import { describe, expect, it } from 'vitest';
import { KeepWarm } from '../src/decide/policies/keep-warm.js';
import { adaptiveWarmPolicy } from '../src/decide/warm/adaptive-warm.js';
import { load, snapshot, swarmlet } from './support/snapshots.js';

// A task type that gets a 1 s burst of work every 10 s: its idle periods last 9 s.
const PERIOD_MS = 10_000;
const BUSY_MS = 1_000;
const busyAt = (nowMs: number) => nowMs % PERIOD_MS < BUSY_MS;
const tickAt = (nowMs: number, swarmlets = [swarmlet('s1', 'other')]) =>
  snapshot({
    nowMs,
    limits: { maxSwarmlets: 3 },
    swarmlets,
    load: [load('tick', { ready: busyAt(nowMs) ? 5 : 0 }), load('other')],
  });

/** Feeds `cycles` periods of 100 ms ticks to a KeepWarm whose cold start costs 5 s of idle swarmlet. */
function trained(cycles: number, startMs = 0): KeepWarm {
  const keepWarm = new KeepWarm(adaptiveWarmPolicy({ coldPriceS: 5 }), startMs);
  for (let nowMs = 0; nowMs < cycles * PERIOD_MS; nowMs += 100) keepWarm.observe(tickAt(nowMs));
  return keepWarm;
}

describe("KeepWarm: the simulator's adaptive keep-alive driving the runtime", () => {
  it('has no plan while a type is busy or before it was ever seen', () => {
    const keepWarm = trained(1);
    expect(keepWarm.wantsLoaded('never-seen', 5_000)).toBeUndefined();
    keepWarm.observe(tickAt(10_000)); // a burst starts
    expect(keepWarm.wantsLoaded('tick', 10_000)).toBeUndefined();
  });

  it('with no history keeps the type for the break-even time (the price), then lets it go', () => {
    const keepWarm = trained(1); // one burst, went idle at 1.0 s
    expect(keepWarm.wantsLoaded('tick', 1_000 + 4_900)).toBe(true);
    expect(keepWarm.wantsLoaded('tick', 1_000 + 5_100)).toBe(false);
  });

  it('learns the period: unloads during the gap and pre-warms a shadow just before the next burst', () => {
    const keepWarm = trained(12); // idle since 121.0 s; next burst at 130 s
    const idleAtMs = 11 * PERIOD_MS + BUSY_MS;
    expect(keepWarm.wantsLoaded('tick', idleAtMs + 3_000)).toBe(false);
    expect(keepWarm.prewarms(tickAt(idleAtMs + 3_000), new Set())).toEqual([]);
    const beforeBurst = idleAtMs + 8_700;
    expect(keepWarm.wantsLoaded('tick', beforeBurst)).toBe(true);
    const actions = keepWarm.prewarms(tickAt(beforeBurst), new Set());
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ kind: 'prewarm', taskType: 'tick' });
    expect(actions[0]!.reason).toMatch(/adaptive keep-alive expects tick again .*pre-warm/);
    // Already warm somewhere: nothing to do.
    expect(
      keepWarm.prewarms(tickAt(beforeBurst, [swarmlet('s1', 'other', { warmTypes: ['other', 'tick'] })]), new Set()),
    ).toEqual([]);
  });

  it('starts a shadow a start and a tick before its window opens, so it is loaded when the window says', () => {
    const keepWarm = trained(12, 100);
    const idleAtMs = 11 * PERIOD_MS + BUSY_MS;
    let opensAtMs = idleAtMs + 3_000; // the first tick inside the pre-warm window
    while (keepWarm.wantsLoaded('tick', opensAtMs) !== true && opensAtMs < idleAtMs + PERIOD_MS) opensAtMs += 100;
    expect(keepWarm.wantsLoaded('tick', opensAtMs)).toBe(true);
    // A shadow started at the next tick (opensAtMs − 100) would be loaded only at opensAtMs + 0: one tick too late.
    expect(keepWarm.prewarms(tickAt(opensAtMs - 300), new Set())).toEqual([]);
    expect(keepWarm.prewarms(tickAt(opensAtMs - 200), new Set())).toEqual([
      expect.objectContaining({ kind: 'prewarm', taskType: 'tick' }),
    ]);
  });

  it('sees a burst that came and went between two ticks: its plan starts over', () => {
    const keepWarm = new KeepWarm(adaptiveWarmPolicy({ coldPriceS: 5 }));
    const at = (nowMs: number, overrides: Parameters<typeof load>[1]) =>
      keepWarm.observe(snapshot({ nowMs, load: [load('short', overrides)] }));
    at(0, { ready: 1 });
    at(100, {}); // idle at 0.1 s: kept 5 s (no history yet)
    at(4_000, { completedInWindow: 1 }); // a 20 ms call ran between 3.9 and 4.0 s: nothing queued at either tick
    expect(keepWarm.wantsLoaded('short', 4_000 + 4_900)).toBe(true); // not unloaded at 5.1 s while it is still used
  });

  it('preloads into a running swarmlet when there is no free slot', () => {
    const keepWarm = trained(12);
    const full = [swarmlet('s1', 'other'), swarmlet('s2', 'other'), swarmlet('s3', 'other')];
    const actions = keepWarm.prewarms(tickAt(11 * PERIOD_MS + BUSY_MS + 8_700, full), new Set());
    expect(actions).toEqual([expect.objectContaining({ kind: 'prewarm', taskType: 'tick', swarmletId: 's1' })]);
  });
});
