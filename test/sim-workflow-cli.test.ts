import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { swarmlet, failing } from './support/swarmlet-cli.js';

// `swarmlet sim --workflow` end to end (the built CLI, as sim-determinism.test.ts runs `sim --trace`), on the small
// WfCommons fixtures: the tables it prints, the files it writes, and the input it refuses.
const FIXTURES = 'test/fixtures/wfcommons';
const POLICIES = ['adaptive', 'static-equal', 'static-by-work', 'hpa', 'ray', 'list'];

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmlet-sim-workflow-'));
  tempDirs.push(dir);
  return dir;
}

/** RFC 4180 fields of one line (the writer quotes fields with commas, quotes or line breaks). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted && char === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (char === '"') quoted = !quoted;
    else if (char === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += char;
  }
  return [...fields, field];
}

interface Report {
  slots: number[];
  seeds: number[];
  policies: string[];
  coldStartMs: number;
  instances: { name: string; tasks: number }[];
  summary: { family: string; slots: number; runs: number; adaptiveOverList: { median: number; worst: number } }[];
  rows: { instance: string; slots: number; seed: number; policy: string; makespanMs: number; violations: string[] }[];
}

describe('swarmlet sim --workflow (end to end)', () => {
  it('prints a table per instance and slot count and a summary per family; writes JSON, CSV and a plot that parse', async () => {
    const out = await tempDir();
    const { stdout, stderr } = await swarmlet([
      'sim',
      '--workflow',
      FIXTURES,
      '--slots',
      '4,16',
      '--seeds',
      '1',
      '--out',
      out,
    ]);

    const titles = stdout.split('\n').filter((line) => / at \d+ slots · lower bound [\d.]+ s · seed 0$/.test(line));
    expect(titles).toHaveLength(3 * 2);
    for (const name of ['srasearch-chameleon-10a-001', '1000genome-chameleon-2ch-100k-001-cut'])
      for (const slots of [4, 16])
        expect(titles.some((t) => t.startsWith(`${name} (`) && t.includes(` at ${slots} slots`))).toBe(true);
    const tables = stdout.split('\n\n').filter((block) => / at \d+ slots /.test(block.split('\n')[0]!));
    for (const table of tables) {
      const lines = table.split('\n');
      expect(lines[1]).toMatch(
        /^\| policy +\| makespan s \| ÷ bound \| ÷ list \| held swarmlet-s \| held ÷ list \| cold starts \| morphing actions +\|$/,
      );
      expect(lines.slice(3).map((line) => line.split('|')[1]!.trim())).toEqual(POLICIES);
      const list = lines
        .find((line) => line.startsWith('| list '))!
        .split('|')
        .map((cell) => cell.trim());
      expect([list[4], list[6]]).toEqual(['1.00', '1.00']); // list ÷ list
      expect(lines.find((line) => line.startsWith('| adaptive '))).toMatch(/replicate \d+/);
    }
    expect(stdout).toMatch(
      /\| family +\| slots \| runs \| adaptive ÷ list \| adaptive ÷ static-by-work \| held ÷ list held \|/,
    );
    for (const family of ['1000genome', 'montage', 'srasearch', 'all'])
      for (const slots of [4, 16])
        expect(stdout).toMatch(
          new RegExp(`\\| ${family} +\\| +${slots} \\| +\\d+ \\| +\\d+\\.\\d\\d \\(\\d+\\.\\d\\d\\) \\|`),
        );
    expect(stdout).toContain(
      `written: ${join(out, 'results.json')}, ${join(out, 'results.csv')}, ${join(out, 'makespan-vs-cost.svg')}`,
    );
    expect(stderr).toMatch(
      /^\[1\/3\] 1000genome-chameleon-2ch-100k-001-cut: 14 tasks × 2 slot count\(s\) × 1 seed\(s\) … [\d.]+ s \(adaptive/m,
    );
    expect(stderr).toMatch(/^3 instance\(s\), 36 replays in [\d.]+ s \(adaptive through the orchestrator: [\d.]+ s/m);

    const report = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as Report;
    expect(report).toMatchObject({ slots: [4, 16], seeds: [0], policies: POLICIES, coldStartMs: 100 });
    expect(report.instances.map((i) => i.tasks)).toEqual([14, 7, 22]);
    expect(report.rows).toHaveLength(3 * 2 * 1 * POLICIES.length);
    for (const row of report.rows) expect(row.violations).toEqual([]);
    expect(report.summary.filter((row) => row.family === 'all').map((row) => row.runs)).toEqual([3, 3]);

    const csv = (await readFile(join(out, 'results.csv'), 'utf8')).trimEnd().split('\n').map(csvFields);
    expect(csv[0]!.slice(0, 7)).toEqual(['instance', 'family', 'tasks', 'slots', 'seed', 'policy', 'makespan_ms']);
    expect(csv[0]).toContain('actions_replicate');
    expect(csv).toHaveLength(1 + report.rows.length);
    for (const line of csv.slice(1)) expect(line).toHaveLength(csv[0]!.length);
    expect(csv.slice(1).map((line) => Number(line[6]))).toEqual(report.rows.map((row) => row.makespanMs));

    const svg = await readFile(join(out, 'makespan-vs-cost.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const text of [
      'makespan ÷ lower bound',
      "held ÷ list's",
      'lower-left is better',
      '4 slots',
      '16 slots',
      ...POLICIES,
    ])
      expect(svg).toContain(text);
  });

  it('the same seeds write the same results; --json prints them; each seed gives its own figures', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const file = `${FIXTURES}/srasearch-chameleon-10a-001.json`;
    const args = (out: string) => [
      'sim',
      '--workflow',
      file,
      '--slots',
      '4',
      '--seeds',
      '0,1,2',
      '--policy',
      'adaptive,list',
      '--out',
      out,
      '--no-progress',
    ];
    const { stdout } = await swarmlet([...args(a), '--json']);
    await swarmlet(args(b));
    for (const name of ['results.json', 'results.csv', 'makespan-vs-cost.svg'])
      expect(await readFile(join(b, name), 'utf8'), name).toBe(await readFile(join(a, name), 'utf8'));
    expect(stdout).toBe(await readFile(join(a, 'results.json'), 'utf8'));
    const report = JSON.parse(stdout) as Report;
    expect(report.seeds).toEqual([0, 1, 2]);
    for (const policy of ['adaptive', 'list']) {
      const makespans = report.rows.filter((row) => row.policy === policy).map((row) => row.makespanMs);
      expect(new Set(makespans).size, policy).toBe(3);
    }
  });

  it.each([
    [
      ['--workflow', `${FIXTURES}/nowhere.json`],
      /--workflow: \S*nowhere\.json cannot be read \(ENOENT\)\. Fix: give a WfFormat \.json file/,
    ],
    [
      ['--slots', '8,x'],
      /--slots: "x" is not a whole number of slots from 1 to 10000 \(in "8,x"\)\. Fix: write --slots 8,32,128/,
    ],
    [['--slots', '0'], /--slots: "0" is not a whole number of slots.*Fix: write --slots 8,32,128/],
    [['--slots', '8,,32'], /--slots: "" is not a whole number of slots/],
    [['--slots', '8,8'], /--slots: 8 is listed twice.*Fix: list each slot count once/],
    [
      ['--policy', 'adaptive,fifo'],
      /--policy: "fifo" is not a workflow policy\. Fix: use any of adaptive, static-equal, static-by-work, hpa, ray, list/,
    ],
    [['--policy', 'keepalive-10m'], /--policy: "keepalive-10m" is not a workflow policy/],
    [['--seeds', '0'], /--seeds: 0 seeds: give from 1 to 1000\. Fix: write --seeds 3/],
    [['--seeds', '0,-1'], /--seeds: "-1" is not a seed/],
    [['--cold-start-ms', '-5'], /--cold-start-ms: "-5" is not a duration in ms.*Fix: write --cold-start-ms 100/],
    [['--arrivals', 'poisson'], /--arrivals: applies to --trace replays only\. Fix: remove --arrivals/],
    [
      ['--trace', 'test/fixtures/traces/azure-functions-2019'],
      /--workflow: is given with --trace\. Fix: replay one at a time/,
    ],
  ])(
    '--workflow with %j: exit 2, one line naming the flag and the fix, no stack, nothing written',
    async (extra, message) => {
      const out = join(await tempDir(), 'out');
      const failure = await failing(['sim', '--workflow', FIXTURES, '--out', out, '--no-progress', ...extra]);
      expect(failure.code).toBe(2);
      expect(failure.stderr).toMatch(message);
      expect(failure.stderr).toMatch(/^swarmlet: [^\n]+\n$/);
      expect(failure.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    },
  );

  it.each([
    [[], /--trace: is missing\. Fix: give --trace <dir> .* or --workflow <file\|dir>/],
    [
      ['--trace', 'test/fixtures/traces/azure-functions-2019', '--slots', '8'],
      /--slots: applies to --workflow replays only/,
    ],
    [
      ['--trace', 'test/fixtures/traces/azure-functions-2019', '--cold-start-ms', '5'],
      /--cold-start-ms: applies to --workflow replays and to the orchestrator entry of --trace replays only\. Fix: add orchestrator to --policy/,
    ],
  ])('sim %j: refused with the fix', async (extra, message) => {
    const failure = await failing(['sim', '--no-progress', ...extra]);
    expect(failure.code).toBe(2);
    expect(failure.stderr).toMatch(message);
    expect(failure.stderr).toMatch(/^swarmlet: [^\n]+\n$/);
  });
});
