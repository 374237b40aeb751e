import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { swarmlet, failing } from './support/swarmlet-cli.js';

// `swarmlet sim --workflow … --nodes` end to end (the built CLI): the table, results.json and the input it refuses.
const FIXTURE = 'test/fixtures/wfcommons/1000genome-chameleon-2ch-100k-001-cut.json';

let dir = '';
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('swarmlet sim --nodes', () => {
  it('prints a row per node count with cost, placement by kind and the tick time, and writes results.json', async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmlet-sim-cluster-'));
    const { stdout } = await swarmlet(['sim', '--workflow', FIXTURE, '--nodes', '5,40', '--seeds', '2', '--out', dir]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/instance\s+nodes\s+seed\s+makespan s\s+÷ bound\s+cost\s+÷ cheapest/);
    expect(lines.filter((line) => line.includes('1000genome'))).toHaveLength(4);
    const report = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as {
      rows: { nodes: number; seed: number; violations: string[]; makespanMs: number; lowerBoundMs: number }[];
      mix: { kind: string }[];
    };
    expect(report.rows.map((row) => [row.nodes, row.seed])).toEqual([
      [5, 0],
      [5, 1],
      [40, 0],
      [40, 1],
    ]);
    expect(report.mix.map((entry) => entry.kind)).toEqual(['server', 'edge', 'personal']);
    for (const row of report.rows) {
      expect(row.violations).toEqual([]);
      expect(row.makespanMs).toBeGreaterThanOrEqual(row.lowerBoundMs);
    }
  });

  it.each([
    [['--nodes', '0'], '--nodes: "0" is not a whole number of nodes'],
    [['--nodes', '10', '--slots', '8'], '--slots: sizes the embedded replay'],
    [['--nodes', '10', '--policy', 'list'], '--policy: "list": a simulated cluster runs the director\'s policy'],
    [['--node-mix', 'server:1'], '--node-mix: applies to a simulated cluster only'],
    [['--nodes', '10', '--node-failures', '2'], '--node-failures: "2" is not a probability'],
    [['--nodes', '10', '--node-mix', 'edge:1:0.5'], '--node-mix: the shares sum to 0.5'],
  ])('refuses %j with the flag and a fix, no stack', async (args, message) => {
    const { code, stderr } = await failing(['sim', '--workflow', FIXTURE, ...args, '--out', join(tmpdir(), 'never')]);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Fix:');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
