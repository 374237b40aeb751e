import { describe, expect, it } from 'vitest';
import { runBaseline } from '../src/sim/workflow/baselines.js';
import { compareWorkflows } from '../src/sim/workflow/compare.js';
import { loadWorkflows } from '../src/sim/workflow/load.js';
import { perturbRuntimes } from '../src/sim/workflow/perturb.js';

// Seeds of `swarmlet sim --workflow`: seed 0 is the trace as recorded; seed s > 0 multiplies each runtime by seeded
// lognormal noise, the same perturbed workflow for every policy of that seed.
const FIXTURES = 'test/fixtures/wfcommons';

describe('workflow seeds', async () => {
  const workflows = await loadWorkflows(FIXTURES);
  const srasearch = workflows.find((w) => w.family === 'srasearch')!;
  const montage = workflows.find((w) => w.family === 'montage')!;

  it('seed 0 is the trace as recorded', () => {
    expect(perturbRuntimes(srasearch, 0)).toBe(srasearch);
  });

  it('a seed gives the same runtimes every time, another seed others; zeros stay zero; the rest of the DAG is kept', () => {
    const runtimes = (seed: number, workflow = srasearch) =>
      perturbRuntimes(workflow, seed).tasks.map((t) => t.runtimeMs);
    expect(runtimes(1)).toEqual(runtimes(1));
    expect(runtimes(1)).not.toEqual(runtimes(2));
    runtimes(1).forEach((ms, i) => {
      const recorded = srasearch.tasks[i]!.runtimeMs;
      expect(ms).not.toBe(recorded);
      expect(ms / recorded).toBeGreaterThan(0.5); // σ = 0.1: a factor outside [0.5, 2] is a 7-σ draw
      expect(ms / recorded).toBeLessThan(2);
    });
    const zeros = montage.tasks.filter((t) => t.runtimeMs === 0).map((t) => t.id);
    expect(zeros.length).toBeGreaterThan(0);
    for (const task of perturbRuntimes(montage, 3).tasks) if (zeros.includes(task.id)) expect(task.runtimeMs).toBe(0);
    const perturbed = perturbRuntimes(srasearch, 1);
    expect(perturbed.tasks.map(({ runtimeMs: _r, ...rest }) => rest)).toEqual(
      srasearch.tasks.map(({ runtimeMs: _r, ...rest }) => rest),
    );
    expect(perturbed.order).toBe(srasearch.order);
  });

  it('the noise has mean 1 and spread σ ≈ 0.1 over many tasks', () => {
    const many = {
      ...srasearch,
      tasks: Array.from({ length: 20_000 }, (_, i) => ({ ...srasearch.tasks[0]!, id: `t${i}` })),
    };
    const factors = perturbRuntimes(many, 7).tasks.map((t) => t.runtimeMs / srasearch.tasks[0]!.runtimeMs);
    const mean = factors.reduce((sum, f) => sum + f, 0) / factors.length;
    const logs = factors.map(Math.log);
    const logMean = logs.reduce((sum, l) => sum + l, 0) / logs.length;
    const sigma = Math.sqrt(logs.reduce((sum, l) => sum + (l - logMean) ** 2, 0) / logs.length);
    expect(mean).toBeCloseTo(1, 2);
    expect(sigma).toBeCloseTo(0.1, 2);
  });

  it('a comparison is reproducible; its seeds differ; every policy of a seed replays the same workflow', async () => {
    const options = {
      slots: [4],
      policies: ['adaptive', 'static-by-work'] as const,
      seeds: [0, 1, 2],
      coldStartMs: 100,
    };
    const run = () => compareWorkflows([srasearch], { ...options, check: true });
    const [first, second] = [await run(), await run()];
    expect(second.rows).toEqual(first.rows);
    expect(first.policies).toEqual(['adaptive', 'static-by-work', 'list']); // list added: the yardstick
    for (const row of first.rows) expect(row.violations).toEqual([]);
    for (const policy of first.policies) {
      const makespans = first.rows.filter((row) => row.policy === policy).map((row) => row.makespanMs);
      expect(new Set(makespans).size, policy).toBe(3);
    }
    for (const seed of options.seeds) {
      const bounds = first.rows.filter((row) => row.seed === seed).map((row) => row.lowerBoundMs);
      expect(new Set(bounds).size).toBe(1); // one perturbed workflow per seed
      const list = first.rows.find((row) => row.seed === seed && row.policy === 'list')!;
      const direct = runBaseline('list', perturbRuntimes(srasearch, seed), { slots: 4, coldStartMs: 100 });
      expect(list.makespanMs).toBe(direct.makespanMs);
      expect(list.makespanOverList).toBe(1);
    }
  });
});
