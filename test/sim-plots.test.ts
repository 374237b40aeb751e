import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swarmlet } from './support/swarmlet-cli.js';

// The plots `swarmlet sim` writes, on the fixtures the CLI tests use, read back as SVG: every point named, no two
// labels on top of each other (by estimated boxes, and by the boxes Chromium really lays out), coinciding points
// all visible, axes that end near the data, the "lower-left is better" cue.
const TRACE = 'test/fixtures/traces/azure-functions-2019';
const WORKFLOWS = 'test/fixtures/wfcommons';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface SvgText {
  x: number;
  y: number;
  size: number;
  anchor: string;
  className: string;
  content: string;
}

const attributes = (tag: string): Record<string, string | undefined> =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
const unescape = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

function texts(svg: string): SvgText[] {
  return [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map((m) => {
    const a = attributes(m[1]!);
    return {
      x: Number(a.x),
      y: Number(a.y),
      size: Number(a['font-size']),
      anchor: a['text-anchor'] ?? 'start',
      className: a.class ?? '',
      content: unescape(m[2]!),
    };
  });
}

/** A generous box for a sans-serif line: 0.6 em a glyph, ascent 0.8 em, descent 0.2 em. */
function textBox(t: SvgText): Box {
  const width = [...t.content].length * t.size * 0.6;
  const x = t.anchor === 'middle' ? t.x - width / 2 : t.anchor === 'end' ? t.x - width : t.x;
  return { x, y: t.y - 0.8 * t.size, width, height: t.size };
}

/** Filled markers in document order (rings have no fill), as their centres. */
function markers(svg: string): { x: number; y: number }[] {
  return [...svg.matchAll(/<(circle|polygon) ([^>]*)\/>/g)]
    .map((m) => ({ kind: m[1], a: attributes(m[2]!) }))
    .filter(({ a }) => a.fill !== 'none')
    .map(({ kind, a }) => {
      if (kind === 'circle') return { x: Number(a.cx), y: Number(a.cy) };
      const corners = a.points!.split(' ').map((p) => p.split(',').map(Number));
      const mean = (k: number) => corners.reduce((sum, c) => sum + c[k]!, 0) / corners.length;
      return { x: mean(0), y: mean(1) };
    });
}

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const contains = (box: Box, p: { x: number; y: number }) =>
  p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height;

function overlappingPairs(boxes: readonly { name: string; box: Box }[]): string[] {
  const pairs: string[] = [];
  boxes.forEach((a, i) =>
    boxes.slice(i + 1).forEach((b) => {
      if (overlaps(a.box, b.box)) pairs.push(`${a.name} × ${b.name}`);
    }),
  );
  return pairs;
}

const tempDirs: string[] = [];
let browser: Browser;
let pareto: {
  svg: string;
  rows: {
    policy: string;
    family?: string;
    p75AppColdPercent: { mean: number };
    wastedPercentOfBaseline: { mean: number };
  }[];
};
let workflow: { svg: string; slots: number[]; policies: string[] };

beforeAll(async () => {
  const [a, b] = await Promise.all([1, 2].map(() => mkdtemp(join(tmpdir(), 'swarmlet-plots-'))));
  tempDirs.push(a!, b!);
  await swarmlet(['sim', '--trace', TRACE, '--seeds', '2', '--arrivals', 'uniform', '--out', a!, '--no-progress']);
  await swarmlet(['sim', '--workflow', WORKFLOWS, '--slots', '4,16', '--seeds', '1', '--out', b!, '--no-progress']);
  pareto = {
    svg: await readFile(join(a!, 'pareto.svg'), 'utf8'),
    rows: (JSON.parse(await readFile(join(a!, 'report.json'), 'utf8')) as { rows: typeof pareto.rows }).rows,
  };
  const report = JSON.parse(await readFile(join(b!, 'results.json'), 'utf8')) as {
    slots: number[];
    policies: string[];
  };
  workflow = { svg: await readFile(join(b!, 'makespan-vs-cost.svg'), 'utf8'), ...report };
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const named = (svg: string) =>
  texts(svg)
    .filter((t) => t.className === 'label' || t.className === 'cue')
    .map((t) => ({ name: t.content, box: textBox(t) }));

describe('pareto.svg on the fixture trace', () => {
  it('names every policy beside its point (a sweep point by its knob value), and adds the cue', () => {
    const labels = texts(pareto.svg)
      .filter((t) => t.className === 'label')
      .map((t) => t.content);
    const expected = pareto.rows.map((row) =>
      row.family === undefined ? row.policy : row.policy.slice(row.family.length + 1),
    );
    expect(expected).toContain('λ=600s');
    expect([...labels].sort()).toEqual([...expected].sort());
    expect(
      texts(pareto.svg)
        .filter((t) => t.className === 'cue')
        .map((t) => t.content),
    ).toEqual(['↙ lower-left is better']);
  });

  it('no two labels overlap, and no label covers a point', () => {
    const boxes = named(pareto.svg);
    expect(overlappingPairs(boxes)).toEqual([]);
    const points = markers(pareto.svg).slice(0, pareto.rows.length);
    for (const { name, box } of boxes) for (const p of points) expect(contains(box, p), name).toBe(false);
  });

  it('points that coincide in the data (keepalive-10m and openwhisk here) are all visible, a ring round them', () => {
    const mean = (policy: string) => {
      const row = pareto.rows.find((r) => r.policy === policy)!;
      return [row.p75AppColdPercent.mean, row.wastedPercentOfBaseline.mean];
    };
    expect(mean('openwhisk')).toEqual(mean('keepalive-10m')); // the case the plot used to hide
    const points = markers(pareto.svg).slice(0, pareto.rows.length);
    points.forEach((a, i) =>
      points.slice(i + 1).forEach((b, j) => {
        const names = `${pareto.rows[i]!.policy} / ${pareto.rows[i + 1 + j]!.policy}`;
        expect(Math.hypot(a.x - b.x, a.y - b.y), names).toBeGreaterThanOrEqual(10);
      }),
    );
    expect(pareto.svg).toMatch(/<circle [^>]*fill="none" stroke="#777" stroke-dasharray/);
  });

  it('the percentage axis ends at 100 (the data reaches 88 %), the sweep is one line through its points', () => {
    const frameBottom = Number(attributes(pareto.svg.match(/<rect x="90" [^>]*fill="none"[^>]*>/)![0]).y) + 460;
    const xTicks = texts(pareto.svg)
      .filter((t) => t.className === 'tick' && t.y > frameBottom)
      .map((t) => Number(t.content));
    expect(Math.max(...pareto.rows.map((r) => r.p75AppColdPercent.mean))).toBeLessThan(100);
    expect(Math.max(...xTicks)).toBe(100);
    const sweep = pareto.rows.filter((r) => r.family === 'adaptive');
    const polylines = [...pareto.svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines.map((line) => line.length)).toEqual([sweep.length]);
    expect(pareto.svg).toContain('cold-start rate (%, first calls excluded)');
    expect(pareto.svg).toContain("wasted memory-time (% of keepalive-10m's)");
  });

  it('laid out by Chromium, no two labels overlap either', async () => {
    expect(overlappingPairs(await renderedLabels(pareto.svg))).toEqual([]);
  });
});

describe('makespan-vs-cost.svg on the WfCommons fixtures', () => {
  it('names every policy in every panel, with a cue per panel', () => {
    const labels = texts(workflow.svg).filter((t) => t.className === 'label');
    for (const policy of workflow.policies)
      expect(
        labels.filter((t) => t.content === policy),
        policy,
      ).toHaveLength(workflow.slots.length);
    expect(texts(workflow.svg).filter((t) => t.className === 'cue')).toHaveLength(workflow.slots.length);
  });

  it('no two labels overlap, by estimate and as Chromium lays them out; no label covers a point', async () => {
    const boxes = named(workflow.svg);
    expect(overlappingPairs(boxes)).toEqual([]);
    const points = markers(workflow.svg).slice(0, workflow.slots.length * workflow.policies.length);
    for (const { name, box } of boxes) for (const p of points) expect(contains(box, p), name).toBe(false);
    expect(overlappingPairs(await renderedLabels(workflow.svg))).toEqual([]);
  });
});

/** The labels' boxes as the browser lays them out. */
async function renderedLabels(svg: string): Promise<{ name: string; box: Box }[]> {
  const page = await browser.newPage();
  try {
    await page.setContent(svg);
    return await page.$$eval('text.label, text.cue', (elements) =>
      elements.map((element) => {
        const { x, y, width, height } = (element as unknown as { getBBox(): Box }).getBBox();
        return { name: element.textContent ?? '', box: { x, y, width, height } };
      }),
    );
  } finally {
    await page.close();
  }
}
