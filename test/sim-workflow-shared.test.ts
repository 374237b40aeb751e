import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWorkflows, type Workflow } from '../src/sim/workflow/load.js';
import { DEFAULT_COLD_START_MS } from '../src/sim/workflow/replay.js';
import {
  formatBaselineReport,
  ratioSummary,
  REPORT_SCHEDULERS,
  replayBaselines,
  type BaselineRow,
} from '../src/sim/workflow/report-baselines.js';

/**
 * Every shared WfCommons instance under every baseline at 8, 32 and 128 slots: the invariants hold,
 * the whole set replays in seconds, and the ratios are printed (run this file alone to read them:
 * `npx vitest run test/sim-workflow-shared.test.ts`).
 */
const SHARED = resolve(import.meta.dirname, '../../shared/traces/wfcommons');
const SLOTS = [8, 32, 128];

describe.skipIf(!existsSync(SHARED))('every shared WfCommons instance', () => {
  let workflows: Workflow[] = [];
  let rows: BaselineRow[] = [];
  let loadMs = 0;
  let replayMs = 0;

  beforeAll(async () => {
    const start = performance.now();
    workflows = await loadWorkflows(SHARED);
    loadMs = performance.now() - start;
    const replayStart = performance.now();
    rows = replayBaselines(workflows, { slots: SLOTS, coldStartMs: DEFAULT_COLD_START_MS });
    replayMs = performance.now() - replayStart;
  }, 120_000);

  it('loads the four families, and the one instance with runtimes recorded as 0', () => {
    expect(workflows).toHaveLength(75);
    const families = new Map<string, number>();
    for (const workflow of workflows) families.set(workflow.family, (families.get(workflow.family) ?? 0) + 1);
    expect(Object.fromEntries(families)).toEqual({ '1000genome': 22, blast: 15, montage: 13, srasearch: 25 });
    expect(Math.max(...workflows.map((w) => w.tasks.length))).toBe(2122);
    const zeros = workflows.filter((w) => w.notes.zeroRuntimeTaskIds.length > 0);
    expect(zeros.map((w) => [w.name, w.notes.zeroRuntimeTaskIds.length])).toEqual([
      ['montage-chameleon-2mass-02d-001', 10],
    ]);
    console.log(
      `loaded ${workflows.length} instances (${workflows.reduce((n, w) => n + w.tasks.length, 0)} tasks) in ${loadMs.toFixed(0)} ms; ` +
        `no memoryInBytes at all in ${workflows.filter((w) => w.notes.missingMemory === w.tasks.length).length} of them`,
    );
  });

  it('keeps every invariant for every baseline at 8, 32 and 128 slots', () => {
    expect(rows).toHaveLength(workflows.length * SLOTS.length * REPORT_SCHEDULERS.length);
    const broken = rows.filter((row) => row.violations.length > 0);
    expect(broken.map((row) => `${row.workflow} @${row.slots} ${row.scheduler}: ${row.violations.join('; ')}`)).toEqual(
      [],
    );
  });

  it('replays the whole set in a few seconds', () => {
    console.log(`${rows.length} replays in ${replayMs.toFixed(0)} ms (invariant checks included)`);
    expect(replayMs).toBeLessThan(30_000); // about 1.5 s alone on this machine; room for a busy CI
  });

  it('prints the ratios to the lower bound and to list, per family and slot count', () => {
    console.log(`cold start ${DEFAULT_COLD_START_MS} ms\n${formatBaselineReport(rows)}`);
    const coldFree = replayBaselines(workflows, {
      slots: SLOTS,
      coldStartMs: 0,
      schedulers: REPORT_SCHEDULERS.filter((s) => s.name === 'list' || s.name.startsWith('static-by-work')),
    });
    console.log(`cold start 0 ms\n${formatBaselineReport(coldFree)}`);
    for (const slots of SLOTS) {
      const atSlots = (row: BaselineRow) => row.slots === slots;
      const list = ratioSummary(coldFree, 'list', 'lower-bound', atSlots);
      // The independent list: 1.00–1.03× the bound at the median, 1.6× at worst.
      expect(list.median).toBeLessThan(1.03);
      expect(list.worst).toBeLessThan(1.6);
    }
    const byWork8 = ratioSummary(coldFree, 'static-by-work', 'list', (row) => row.slots === 8);
    expect(byWork8.worst).toBeGreaterThan(7.5); // the worst: 7.7× at 8 slots (montage, one slot per type)
    expect(byWork8.worst).toBeLessThan(8);
  });
});
