import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { Operations } from '../src/api/operations.js';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { Swarm } from '../src/swarm.js';
import { startChromium } from './support/chromium.js';

// Every text the dashboard shows comes from users (job names, task errors, task types, decision and anomaly reasons,
// node ids): markup in it must stay text. A payload that ran would set window.__xss; one parsed as HTML would leave an
// element in the page; one stopped only by the Content-Security-Policy would leave a violation.
const markup = (where: string) =>
  `"'><img src=x onerror="window.__xss='${where}'"><svg onload="window.__xss='${where}'"></svg><b>${where}</b>`;

const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

let swarm: Swarm | undefined;
let server: ApiServer | undefined;
let browser: Awaited<ReturnType<typeof startChromium>> | undefined;
afterEach(async () => {
  await browser?.close();
  await swarm?.stop();
  await server?.close();
  browser = swarm = server = undefined;
});

async function openDashboard(url: string, token: string): Promise<Page> {
  browser = await startChromium();
  const page = await browser.context.newPage();
  await page.addInitScript({ content: RECORD_VIOLATIONS });
  await page.goto(`${url}/#token=${token}`);
  return page;
}

async function expectNothingRan(page: Page): Promise<void> {
  expect(await page.evaluate('window.__xss')).toBeUndefined();
  expect(await page.evaluate("document.querySelectorAll('img, svg, iframe, b, script:not([src])').length")).toBe(0);
  expect(await page.evaluate('window.__violations')).toEqual([]);
}

describe('hostile text in the dashboard', () => {
  it("shows a job's name and its task's error as text, under a policy the dashboard itself never trips", async () => {
    swarm = await Swarm.start({
      tasks: ['test/fixtures/hostile-text.task.ts', 'test/fixtures/busy.task.ts'],
      maxSwarmlets: 2,
      http: { port: 0 },
    });
    const failing = swarm.submit({
      name: markup('name'),
      tasks: [{ id: 'x', type: 'hostile-text', input: { markup: markup('error') } }],
    });
    await failing.done.catch(() => {});
    const running = swarm.submit({ name: markup('running'), type: 'busy', input: { ms: 60_000 } });
    const cancelled = running.done.catch(() => {});
    const page = await openDashboard(swarm.http!.url, swarm.http!.token);
    const error = page.getByTestId(`job-error-${failing.jobId}`);
    await expect.poll(() => error.textContent()).toContain(markup('error'));
    expect(await page.getByTestId(`job-row-${failing.jobId}`).textContent()).toContain(markup('name'));
    expect(await page.getByTestId(`job-row-${running.jobId}`).textContent()).toContain(markup('running'));
    await page.waitForTimeout(1500); // a few more live events, polls and draws
    await expectNothingRan(page);
    await swarm.cancel(running.jobId);
    await cancelled;
  });

  it('shows hostile task types, reasons, swarmlet and node ids from the API as text in every view', async () => {
    server = await startApiServer({
      operations: hostileOperations(),
      environment: wallEnvironment,
      host: '127.0.0.1',
      port: 0,
    });
    const page = await openDashboard(server.url, server.token);
    const text = (testId: string) => page.getByTestId(testId).textContent();
    await expect.poll(() => text('decisions')).toContain(markup('reason'));
    await expect.poll(() => text('anomalies')).toContain(markup('anomaly'));
    await expect.poll(() => text('nodes')).toContain(markup('node'));
    await expect.poll(() => text('forecasts')).toContain(markup('type'));
    await expect.poll(() => text('swarmlets-by-type')).toContain(markup('type'));
    await expect.poll(() => text('jobs')).toContain(markup('label'));
    await expect.poll(() => text('timeline-marks')).toContain(markup('reason'));
    // The timeline's tooltip over the strip of decisions.
    const box = (await page.getByTestId('timeline').boundingBox())!;
    for (let x = box.x + 190; x < box.x + box.width; x += 4) {
      await page.mouse.move(x, box.y + 34);
      if (await page.getByTestId('timeline-tooltip').isVisible()) break;
    }
    expect(await text('timeline-tooltip')).toContain(markup('reason'));
    await expectNothingRan(page);
  });
});

/** An API whose every text is markup. */
function hostileOperations(): Operations {
  const type = markup('type');
  const t0 = performance.now();
  const decisions = Array.from({ length: 5 }, (_, seq) => ({
    seq,
    atMs: t0 + seq,
    kind: 'replicate',
    taskType: type,
    swarmletId: markup('swarmlet'),
    reason: markup('reason'),
  }));
  return {
    mode: 'cluster',
    status: () => ({
      mode: 'cluster',
      policy: markup('policy'),
      uptimeMs: performance.now() - t0 + 1000,
      nowMs: performance.now(),
      jobs: { running: 1, done: 0, failed: 1 },
      microTasksDone: 3,
      throughputPerSec: 1,
      swarmlets: [{ taskType: type, state: markup('state'), count: 2 }],
    }),
    jobs: () => [
      {
        id: 'j-1',
        label: markup('label'),
        priority: 'normal',
        state: 'failed',
        submittedAtMs: t0,
        wallMs: 5,
        done: 1,
        total: 2,
        byType: [{ taskType: type, total: 2, done: 1, running: 0 }],
        error: markup('job-error'),
      },
    ],
    submit: async () => ({ jobId: 'j-2' }),
    cancel: async () => 'cancelled',
    swarmlets: () => [
      {
        id: markup('swarmlet'),
        node: markup('node'),
        state: markup('state'),
        taskType: type,
        warmTypes: [type],
        startedAtMs: t0,
        inFlight: 0,
        served: [{ taskType: type, fromMs: t0 }],
        morphs: [{ atMs: t0, kind: 'replicate', reason: markup('morph') }],
      },
    ],
    nodes: () => [
      {
        id: markup('node'),
        kind: markup('kind'),
        labels: { [markup('label-key')]: markup('label-value') },
        state: markup('state'),
        price: 1,
        swarmlets: 1,
        capacity: 2,
        verdicts: [{ atMs: t0, taskType: type, verdict: markup('verdict') }],
      },
    ],
    decisions: (after, limit) => decisions.filter((d) => d.seq > after).slice(0, limit),
    anomalies: () => [
      { atMs: t0, taskType: type, microTask: markup('micro-task'), ratio: 9, phase: 'run', reason: markup('anomaly') },
    ],
    forecasts: () => [
      { taskType: type, predictedDurationMs: 5, meanDurationMs: 6, trail: [{ atMs: t0, predictedMs: 5, actualMs: 6 }] },
    ],
    logs: () => [{ atMs: t0, swarmletId: markup('swarmlet'), line: markup('line') }],
    metrics: () => {
      throw new Error('not served');
    },
  };
}
