import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Swarm } from '../src/swarm.js';
import { startChromium } from './support/chromium.js';

// The dashboard in Debian's Chromium against a real embedded swarm: bars move, morph marks reach the timeline within
// a second of the decision, and the cancel button cancels one job while the other completes.
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts'];
const ARTIFACTS = 'test-artifacts';
let swarm: Swarm | undefined;
let browser: Awaited<ReturnType<typeof startChromium>> | undefined;
afterEach(async () => {
  await browser?.close();
  await swarm?.stop();
  browser = undefined;
  swarm = undefined;
});

interface Decision {
  seq: number;
  atMs: number;
  kind: string;
}

const job = (prefix: string, noops: number, busy: number, ms: number) => ({
  tasks: [
    ...Array.from({ length: noops }, (_, i) => ({ id: `${prefix}n${i}`, type: 'noop', input: i })),
    ...Array.from({ length: busy }, (_, i) => ({ id: `${prefix}b${i}`, type: 'busy', input: { ms } })),
  ],
});

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const { url, token } = swarm!.http!;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const response = await fetch(`${url}${path}`, { ...init, headers });
  expect(response.ok, `${path}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

const attribute = async (page: Page, testId: string, name: string) =>
  Number(await page.getByTestId(testId).getAttribute(name));

describe('the dashboard on a real embedded swarm', () => {
  it('shows jobs and morphs live, draws marks within a second, and cancels one job from its button', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 3, tickMs: 20, http: { port: 0 } });
    browser = await startChromium();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${swarm.http!.url}/#token=${swarm.http!.token}`);
    // The token leaves the address bar at once and stays in the tab.
    expect(page.url()).not.toContain('token');
    expect(await page.evaluate("sessionStorage.getItem('swarmlet.token')")).toBe(swarm.http!.token);
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state')).toBe('live');
    // The embedded runtime's clock is this process's performance.now(): as epoch ms, like the page's Date.now().
    const epochMs = (atMs: number) => performance.timeOrigin + atMs;
    const liveAtMs = Date.now();

    const kept = await call<{ jobId: string }>('/api/jobs', {
      method: 'POST',
      body: JSON.stringify(job('a', 300, 300, 15)),
    });
    const doomed = await call<{ jobId: string }>('/api/jobs', {
      method: 'POST',
      body: JSON.stringify(job('c', 0, 3000, 20)),
    });

    // The bars of the first job move.
    const bar = `type-bar-${kept.jobId}-busy`;
    await page.getByTestId(bar).waitFor();
    expect(await attribute(page, bar, 'data-total')).toBe(300);
    const before = await attribute(page, bar, 'data-done');
    await expect.poll(() => attribute(page, bar, 'data-done'), { timeout: 10_000 }).toBeGreaterThan(before);

    // Morph marks reach the timeline; each one logged while the page listened was drawn within a second.
    await expect.poll(() => attribute(page, 'timeline', 'data-marks'), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.waitForTimeout(600); // a few more decisions (the second job's replicas) and their draws
    const { decisions } = await call<{ decisions: Decision[] }>('/api/decisions?limit=1000');
    const lastSeq = await attribute(page, 'timeline', 'data-last-seq');
    const live = decisions.filter((d) => epochMs(d.atMs) > liveAtMs && d.seq <= lastSeq);
    expect(live.length).toBeGreaterThan(0);
    const latencies: { seq: number; kind: string; ms: number }[] = [];
    for (const decision of live) {
      const drawnAtMs = await page.evaluate(`window.swarmletDashboard.markDrawnAtMs(${decision.seq})`);
      expect(drawnAtMs, `decision ${decision.seq} drawn`).toEqual(expect.any(Number));
      latencies.push({
        seq: decision.seq,
        kind: decision.kind,
        ms: Math.round((drawnAtMs as number) - epochMs(decision.atMs)),
      });
    }
    console.log(`decision → mark drawn (ms): ${latencies.map((l) => `${l.kind}#${l.seq} ${l.ms}`).join(', ')}`);
    expect(Math.max(...latencies.map((l) => l.ms))).toBeLessThanOrEqual(1000);
    // Hover text: every drawn mark is listed with its kind and reason.
    const marks = page.getByTestId('timeline-marks').locator('li');
    expect(await marks.count()).toBe(Math.min(300, await attribute(page, 'timeline', 'data-marks')));
    expect(await marks.last().textContent()).toMatch(/replicate|specialize|prewarm|consolidate|deprovision|reclaim/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-running.png`, fullPage: true });

    // Cancel the second job from its button (after confirming): the API says cancelled, the first job completes.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId(`cancel-${doomed.jobId}`).click();
    await expect.poll(() => page.getByTestId(`cancel-result-${doomed.jobId}`).textContent()).toBe('cancelled');
    expect((await call<{ state: string }>(`/api/jobs/${doomed.jobId}`)).state).toBe('cancelled');
    // The first job goes on untouched (on a loaded machine it may already have finished: never cancelled or failed).
    expect(['running', 'done']).toContain((await call<{ state: string }>(`/api/jobs/${kept.jobId}`)).state);
    await vi.waitFor(
      async () => expect((await call<{ state: string }>(`/api/jobs/${kept.jobId}`)).state).toBe('done'),
      {
        timeout: 30_000,
        interval: 200,
      },
    );
    await expect.poll(() => page.getByTestId(`job-row-${kept.jobId}`).getAttribute('data-state')).toBe('done');
    await expect.poll(() => page.getByTestId(`job-row-${doomed.jobId}`).getAttribute('data-state')).toBe('cancelled');
    expect(await page.getByTestId(`cancel-${kept.jobId}`).isVisible()).toBe(false);
    // Hovering a mark on the decision strip shows its kind and reason (the mark's place read from the drawn range).
    const tooltip = page.getByTestId('timeline-tooltip');
    const box = (await page.getByTestId('timeline').boundingBox())!;
    const first = decisions.find((d) => d.seq === latencies[0]!.seq)! as Decision & { reason: string };
    await expect
      .poll(
        async () => {
          const range = (await page.getByTestId('timeline').getAttribute('data-range-ms'))!.split(' ').map(Number);
          const [start, end] = range as [number, number];
          const x = box.x + 150 + ((first.atMs - start) / (end - start)) * (box.width - 150 - 14);
          await page.mouse.move(x, box.y + 22 + 12);
          return (await tooltip.isVisible()) ? await tooltip.textContent() : '';
        },
        { timeout: 5_000 },
      )
      .toContain(first.reason);
    expect(await page.getByTestId('nodes-section').isVisible()).toBe(false); // no nodes in an embedded swarm
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-done.png`, fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);

  it('without a token the page still reads, and the cancel button says how to get one', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 1, tickMs: 20, http: { port: 0 } });
    browser = await startChromium();
    const page = await browser.context.newPage();
    await page.goto(swarm.http!.url);
    const { jobId } = await call<{ jobId: string }>('/api/jobs', {
      method: 'POST',
      body: JSON.stringify(job('x', 0, 500, 20)),
    });
    await page.getByTestId(`cancel-${jobId}`).click();
    expect(await page.getByTestId(`cancel-result-${jobId}`).textContent()).toMatch(/token.*#token=/);
    expect((await call<{ state: string }>(`/api/jobs/${jobId}`)).state).toBe('running');
  });
});
