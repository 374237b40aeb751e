import type { Page } from 'playwright-core';
import type { Operations } from '../../src/api/operations.js';
import type { DecisionView, JobView, SwarmletView } from '../../src/api/schemas.js';
import { wallEnvironment } from '../../src/runtime/local/wall-environment.js';

// The dashboard at scale: 1,000 swarmlets over 100 task types, thousands of decisions and 40 new ones a second, served
// by a fake Operations; the page must stay responsive while it follows them (measured in the page itself).
export const SWARMLETS = 1000;
const TYPES = Array.from({ length: 100 }, (_, i) => `type-${String(i).padStart(2, '0')}`);
const KINDS = ['replicate', 'specialize', 'consolidate', 'deprovision', 'prewarm', 'reclaim'];
const DECISIONS_PER_SEC = 40;
export const MEASURE_MS = 3000;

/** A seeded generator: the same fake swarm every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

export function fakeOperations(): Operations {
  const now = () => wallEnvironment.clock.nowMs();
  const rand = random(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  const startMs = now() - 600_000;
  const swarmlets: SwarmletView[] = Array.from({ length: SWARMLETS }, (_, i) => {
    const started = startMs + rand() * 550_000;
    const served = [{ taskType: pick(TYPES), fromMs: started }];
    for (let at = started + rand() * 60_000; at < now() && served.length < 6; at += rand() * 90_000)
      served.push({ taskType: pick(TYPES), fromMs: at });
    const morphs = served.slice(1).map((s) => ({ atMs: s.fromMs, kind: 'specialize', reason: `to ${s.taskType}` }));
    const state = i % 10 === 0 ? 'stopped' : i % 3 === 0 ? 'busy' : 'idle';
    return {
      id: `w${i}`,
      state,
      taskType: served.at(-1)!.taskType,
      warmTypes: [],
      startedAtMs: started,
      inFlight: 0,
      served,
      morphs,
    };
  });
  const decisions: DecisionView[] = [];
  const decide = (atMs: number) => {
    const kind = pick(KINDS);
    const swarmlet = pick(swarmlets);
    decisions.push({
      seq: decisions.length,
      atMs,
      kind,
      taskType: pick(TYPES),
      ...(kind !== 'replicate' && { swarmletId: swarmlet.id }),
      reason: `${kind}: queue ${Math.round(rand() * 500)} deep, ~${Math.round(rand() * 30)} s of work per swarmlet`,
    });
  };
  for (let at = startMs; at < now(); at += 120) decide(at); // ~5,000 already logged
  /** Decisions keep coming while the page watches: made when someone looks, as many as the time asks for. */
  const catchUp = () => {
    const due = now();
    for (let at = decisions.at(-1)!.atMs + 1000 / DECISIONS_PER_SEC; at <= due; at += 1000 / DECISIONS_PER_SEC)
      decide(at);
  };
  const jobs = (): JobView[] =>
    Array.from({ length: 30 }, (_, j) => {
      const byType = TYPES.slice(j, j + 8).map((taskType, k) => {
        const total = 500 + k * 100;
        const done = Math.min(total, Math.floor((now() - startMs) / (50 + j * 10)) % (total + 1));
        return { taskType, total, done, running: done < total ? 4 : 0 };
      });
      const done = byType.reduce((n, t) => n + t.done, 0);
      const total = byType.reduce((n, t) => n + t.total, 0);
      return {
        id: String(j + 1),
        label: `job ${j + 1}`,
        priority: 'normal',
        state: 'running',
        submittedAtMs: startMs,
        wallMs: now() - startMs,
        done,
        total,
        byType,
      };
    });
  return {
    mode: 'cluster',
    status: () => ({
      mode: 'cluster',
      policy: 'adaptive',
      uptimeMs: now() - startMs,
      nowMs: now(),
      jobs: { running: 30, done: 120, failed: 3 },
      microTasksDone: Math.round((now() - startMs) * 2),
      throughputPerSec: 2000,
      swarmlets: TYPES.flatMap((taskType) => [
        { taskType, state: 'idle', count: 6 },
        { taskType, state: 'busy', count: 3 },
      ]),
    }),
    jobs,
    submit: async () => ({ jobId: '1' }),
    cancel: async () => 'cancelled',
    swarmlets: () => {
      // A few swarmlets move to another type between looks.
      for (let k = 0; k < 20; k++) {
        const s = pick(swarmlets);
        if (s.state === 'stopped') continue;
        s.served.push({ taskType: pick(TYPES), fromMs: now() });
        s.taskType = s.served.at(-1)!.taskType;
      }
      return swarmlets;
    },
    nodes: () =>
      Array.from({ length: 12 }, (_, n) => ({
        id: `node-${n}`,
        kind: n % 2 ? 'local' : 'cloud',
        state: 'ready',
        price: 0.02 * n,
        reliability: 0.99,
        latencyMs: 3 + n,
        swarmlets: 80,
        capacity: 100,
        verdicts: [{ atMs: now(), taskType: pick(TYPES), verdict: 'won: cheapest with capacity' }],
      })),
    decisions: (after, limit) => {
      catchUp();
      return decisions.slice(after + 1, after + 1 + limit);
    },
    anomalies: () => [],
    forecasts: () =>
      TYPES.map((taskType, t) => ({
        taskType,
        predictedDurationMs: 20 + t,
        meanDurationMs: 22 + t,
        durationErrorPercent: 9,
        trail: Array.from({ length: 200 }, (_, i) => ({
          atMs: startMs + i * 1000,
          predictedMs: 20 + t,
          actualMs: 15 + t + ((i * 7) % 11),
        })),
      })),
    logs: () => [],
    metrics: () => {
      throw new Error('not served in this test');
    },
  };
}

/** Long tasks and frame gaps, as the page itself measures them. */
export const MEASURE_IN_PAGE = `
  window.__perf = { longTasks: [], frames: [], reset() { this.longTasks = []; this.frames = []; } };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__perf.longTasks.push(entry.duration);
  }).observe({ type: 'longtask' });
  let last = performance.now();
  const frame = (t) => { window.__perf.frames.push(t - last); last = t; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
`;

export interface FrameReport {
  readonly frames: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly longTasks: number;
  readonly longestTaskMs: number;
}

/**
 * Someone reads the timeline for MEASURE_MS (scrolls through the rows, hovers the marks) while the feed goes on; the
 * page's own frame gaps and long tasks (MEASURE_IN_PAGE must be its init script).
 */
export async function measureFrames(page: Page): Promise<FrameReport> {
  await page.evaluate('window.__perf.reset()');
  const box = (await page.getByTestId('timeline').boundingBox())!;
  const until = Date.now() + MEASURE_MS;
  for (let step = 0; Date.now() < until; step++) {
    await page.mouse.move(box.x + 200 + ((step * 37) % (box.width - 220)), box.y + 60 + ((step * 13) % 300));
    await page.mouse.wheel(0, step % 20 < 10 ? 400 : -400);
    await page.waitForTimeout(100);
  }
  const perf = (await page.evaluate('({ longTasks: window.__perf.longTasks, frames: window.__perf.frames })')) as {
    longTasks: number[];
    frames: number[];
  };
  const frames = [...perf.frames].sort((a, b) => a - b);
  return {
    frames: frames.length,
    p50Ms: frames[Math.floor(frames.length / 2)]!,
    p95Ms: frames[Math.floor(frames.length * 0.95)]!,
    maxMs: frames.at(-1)!,
    longTasks: perf.longTasks.length,
    longestTaskMs: Math.max(0, ...perf.longTasks),
  };
}
