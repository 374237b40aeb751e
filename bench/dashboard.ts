/**
 * Section `dashboard`: the web dashboard's frame budget at 1,000 swarmlets and 100 task types (the fake swarm of
 * test/support/dashboard-load.ts, 40 new decisions a second), in Debian's Chromium while someone scrolls and hovers the
 * timeline. Three runs; the median of each measure.
 */
import { startApiServer } from '../src/api/server.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { startChromium } from '../test/support/chromium.js';
import { fakeOperations, MEASURE_IN_PAGE, measureFrames, type FrameReport } from '../test/support/dashboard-load.js';
import type { Detail, Row, SectionResult } from './table.js';
import { fmt, log, median } from './util.js';

const SECTION = 'dashboard';
const RUNS = 3;
/** One frame at 60 Hz, and the browser's own threshold for a long task. */
const FRAME_MS = 1000 / 60;
const LONG_TASK_MS = 50;

async function oneRun(): Promise<FrameReport> {
  const server = await startApiServer({
    operations: fakeOperations(),
    environment: wallEnvironment,
    host: '127.0.0.1',
    port: 0,
  });
  const browser = await startChromium();
  try {
    const page = await browser.context.newPage();
    await page.addInitScript({ content: MEASURE_IN_PAGE });
    await page.goto(`${server.url}/#token=${server.token}`);
    await page.getByTestId('timeline-count').filter({ hasText: '1,000 swarmlets' }).waitFor({ timeout: 20_000 });
    return await measureFrames(page);
  } finally {
    await browser.close();
    await server.close();
  }
}

export async function runDashboard(): Promise<SectionResult> {
  log(`dashboard: ${RUNS} runs in Chromium, 1,000 swarmlets × 100 task types, scrolling and hovering the timeline`);
  const reports: FrameReport[] = [];
  for (let run = 0; run < RUNS; run++) reports.push(await oneRun());
  const p95 = median(reports.map((r) => r.p95Ms));
  const longest = median(reports.map((r) => r.longestTaskMs));
  const rows: Row[] = [
    {
      section: SECTION,
      metric: 'frame time p95, 1,000 swarmlets × 100 types',
      unit: 'ms',
      swarmlet: p95,
      baseline: FRAME_MS,
      baselineName: 'one frame at 60 Hz',
      ratio: p95 / FRAME_MS,
      goal: 'lower',
      target: 2,
    },
    {
      section: SECTION,
      metric: 'longest long task, 1,000 swarmlets × 100 types',
      unit: 'ms',
      swarmlet: longest,
      baseline: LONG_TASK_MS,
      baselineName: "the browser's long-task threshold",
      ratio: longest / LONG_TASK_MS,
      goal: 'lower',
      target: 2,
    },
  ];
  const details: Detail[] = reports.map((r, i) => ({
    section: SECTION,
    name: `run ${i + 1}`,
    value: r.p95Ms,
    unit: 'ms p95',
    note: `${fmt(r.frames)} frames, p50 ${r.p50Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms, ${r.longTasks} long tasks, longest ${r.longestTaskMs.toFixed(0)} ms`,
  }));
  return { rows, details, extra: { reports } };
}
