import { describe, expect, it } from 'vitest';
import { percentile, summarize, type PolicyResult } from '../src/sim/metrics.js';
import { paretoSvg } from '../src/sim/pareto-plot.js';
import type { AppOutcome } from '../src/sim/replay.js';
import { buildRows, renderTable, toCsv, type PolicyRow } from '../src/sim/report.js';

describe('percentile (numpy linear)', () => {
  it.each<[number[], number, number]>([
    [[1, 2, 3, 4], 75, 3.25],
    [[1, 2, 3, 4], 50, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 100, 4],
    [[1, 2, 3, 4], 25, 1.75],
    [[0, 50, 100], 75, 75],
    [[10, 20], 90, 19],
    [[7], 75, 7],
    [[0, 0, 0, 100], 75, 25],
  ])('%j p%d = %d', (values, p, expected) => {
    expect(percentile(values, p)).toBeCloseTo(expected, 12);
  });

  it('is NaN for no values and works on typed arrays', () => {
    expect(percentile([], 75)).toBeNaN();
    expect(percentile(Float64Array.of(1, 3), 50)).toBe(2);
  });
});

const outcome = (appId: string, calls: number, coldStarts: number, wastedMbMs = 0): AppOutcome => ({
  appId,
  calls,
  coldStarts,
  wastedMbMs,
});

describe('summarize', () => {
  const outcomes = [
    outcome('one-call', 1, 1, 1024 * 1000),
    outcome('b', 5, 1),
    outcome('c', 5, 3, 2048 * 500),
    outcome('d', 3, 3),
    outcome('none', 0, 0),
  ];

  it('per-app percentiles cover apps with ≥ 2 calls; first calls excluded and included', () => {
    const result = summarize('p', 4, outcomes, 12.5);
    // Without the first call: b 0/4 = 0 %, c 2/4 = 50 %, d 2/2 = 100 % → p75 of [0, 50, 100] = 75.
    // With it: b 1/5 = 20 %, c 3/5 = 60 %, d 3/3 = 100 % → p75 of [20, 60, 100] = 80.
    expect(result).toEqual({
      policy: 'p',
      seed: 4,
      apps: 5,
      appsWithTwoCalls: 3,
      calls: 14,
      coldStarts: 8,
      coldPercentOverall: (100 * 8) / 14,
      p75AppColdPercent: 75,
      p75AppColdPercentWithFirst: 80,
      wastedGbSeconds: 1 + 1, // 1024 MB·s + 2048 MB × 0.5 s
      replayMs: 12.5,
    });
  });

  it('a one-call app with many cold starts elsewhere does not move the percentiles', () => {
    const base = summarize('p', 1, [outcome('b', 4, 1), outcome('c', 4, 4)], 0);
    const more = summarize('p', 1, [outcome('b', 4, 1), outcome('c', 4, 4), outcome('x', 1, 1), outcome('y', 1, 1)], 0);
    expect(more.p75AppColdPercent).toBe(base.p75AppColdPercent);
    expect(more.p75AppColdPercentWithFirst).toBe(base.p75AppColdPercentWithFirst);
    expect(more.appsWithTwoCalls).toBe(2);
    expect(more.coldPercentOverall).toBe(70); // 7 of 10, the one-call apps still count overall
  });

  it('sorts the per-app values itself (input order does not matter)', () => {
    const a = summarize('p', 1, [outcome('d', 3, 3), outcome('b', 5, 1), outcome('c', 5, 3)], 0);
    const b = summarize('p', 1, [outcome('b', 5, 1), outcome('c', 5, 3), outcome('d', 3, 3)], 0);
    expect(a).toEqual(b);
  });

  it('an empty replay: 0 % overall, NaN percentiles (no population)', () => {
    const result = summarize('p', 1, [], 0);
    expect(result.coldPercentOverall).toBe(0);
    expect(result.p75AppColdPercent).toBeNaN();
  });
});

function result(policy: string, seed: number, wastedGbSeconds: number, p75 = 10, replayMs = 1): PolicyResult {
  return {
    policy,
    seed,
    apps: 3,
    appsWithTwoCalls: 2,
    calls: 100,
    coldStarts: 5,
    coldPercentOverall: 5,
    p75AppColdPercent: p75,
    p75AppColdPercentWithFirst: p75 + 1,
    wastedGbSeconds,
    replayMs,
  };
}

describe('buildRows', () => {
  const results = [
    result('keepalive-10m', 1, 10, 50),
    result('x', 1, 5, 2),
    result('adaptive λ=1s', 1, 20, 1),
    result('keepalive-10m', 2, 20, 50),
    result('x', 2, 30, 4),
    result('adaptive λ=1s', 2, 10, 3),
  ];
  const rows = buildRows(results, 'keepalive-10m', new Map([['adaptive λ=1s', 'adaptive']]));

  it('one row per policy in first-seen order, with seeds counted and families attached', () => {
    expect(rows.map((r) => [r.policy, r.seeds, r.family])).toEqual([
      ['keepalive-10m', 2, undefined],
      ['x', 2, undefined],
      ['adaptive λ=1s', 2, 'adaptive'],
    ]);
  });

  it('waste is normalised to the baseline of the same seed (baseline = 100), spread over seeds', () => {
    expect(rows[0]!.wastedPercentOfBaseline).toEqual({ mean: 100, min: 100, max: 100 });
    expect(rows[1]!.wastedPercentOfBaseline).toEqual({ mean: 100, min: 50, max: 150 }); // 5/10, 30/20
    expect(rows[2]!.wastedPercentOfBaseline).toEqual({ mean: 125, min: 50, max: 200 }); // 20/10, 10/20
    expect(rows[1]!.wastedGbHours).toMatchObject({ min: 5 / 3600, max: 30 / 3600 });
    expect(rows[1]!.wastedGbHours.mean).toBeCloseTo(17.5 / 3600, 15);
    expect(rows[1]!.p75AppColdPercent).toEqual({ mean: 3, min: 2, max: 4 });
    expect(rows[1]!.p75AppColdPercentWithFirst).toEqual({ mean: 4, min: 3, max: 5 });
  });

  it('speed is calls over replay seconds', () => {
    expect(rows[0]!.invocationsPerSecond).toBe(200 / 0.002);
  });
});

describe('renderTable and toCsv', () => {
  const results = [
    result('keepalive-10m', 1, 10, 50),
    result('x', 1, 5, 2),
    result('keepalive-10m', 2, 20, 50),
    result('x', 2, 30, 4),
  ];
  const rows = buildRows(results, 'keepalive-10m', new Map());

  it('the table has a header, a rule and one line per policy; a spread shows as mean (min–max)', () => {
    const table = renderTable(rows, false);
    const lines = table.split('\n');
    expect(lines).toHaveLength(2 + rows.length);
    expect(lines[0]).toMatch(/^\| policy +\| p75 app cold % \(first calls excl\.\) \|/);
    expect(lines[0]).not.toContain('invocations/s');
    expect(lines[1]).toMatch(/^\|-+(\|-+)+\|$/);
    expect(lines[2]).toMatch(/^\| keepalive-10m .*\| +50\.00 \|.*\| +100\.0 \|/);
    expect(lines[3]).toMatch(/^\| x .*\| +3\.00 \(2\.00–4\.00\) \|.*\| +100\.0 \(50\.0–150\.0\) \|/);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1); // aligned columns
    expect(renderTable(rows, true).split('\n')[2]).toMatch(/\| +0\.10M \|$/);
  });

  it('the CSV has one line per result, numbers bare and names quoted (quotes doubled)', () => {
    const csv = toCsv([...results, result('odd "name", really', 3, 1)]);
    const lines = csv.split('\n');
    expect(lines[0]).toBe(
      'policy,seed,apps,appsWithTwoCalls,calls,coldStarts,coldPercentOverall,p75AppColdPercent,p75AppColdPercentWithFirst,wastedGbSeconds',
    );
    expect(lines[1]).toBe('"keepalive-10m",1,3,2,100,5,5,50,51,10');
    expect(lines[5]).toBe('"odd ""name"", really",3,3,2,100,5,5,10,11,1');
    expect(lines).toHaveLength(results.length + 3); // header, rows, trailing newline
    expect(csv.endsWith('\n')).toBe(true);
  });
});

/** Checks that every tag opened is closed in order (the SVG is XML-ish enough for this). */
function tagsBalance(svg: string): boolean {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

describe('paretoSvg', () => {
  const spread = (mean: number) => ({ mean, min: mean, max: mean });
  const row = (policy: string, x: number, y: number, family?: string): PolicyRow => ({
    policy,
    family,
    seeds: 1,
    p75AppColdPercent: spread(x),
    p75AppColdPercentWithFirst: spread(x),
    coldPercentOverall: spread(1),
    wastedPercentOfBaseline: spread(y),
    wastedGbHours: spread(1),
    invocationsPerSecond: 1,
  });
  const rows = [
    row('keepalive-10m', 50, 100),
    row('never-unload', 0, 185),
    row('oracle', 0, 0),
    row('a<b & c', 20, 90),
    row('adaptive λ=1', 17, 120, 'adaptive'),
    row('adaptive λ=2', 8, 135, 'adaptive'),
    row('adaptive λ=3', 4, 160, 'adaptive'),
    row('other 1', 30, 80, 'other'),
    row('other 2', 10, 95, 'other'),
  ];
  const svg = paretoSvg(rows, 'cold <vs> waste & more');

  it('is a well-formed svg document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(tagsBalance(svg)).toBe(true);
    expect(svg).toContain('cold &lt;vs&gt; waste &amp; more');
    expect(svg).toContain('a&lt;b &amp; c');
    expect(svg).not.toContain('NaN');
  });

  it('each family is one polyline through its points in x order; each point is named, a sweep point by its knob', () => {
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines.map((points) => points.length)).toEqual([3, 2]);
    for (const points of polylines) {
      const xs = points.map((p) => Number(p.split(',')[0]));
      expect(xs).toEqual([...xs].sort((a, b) => a - b));
    }
    expect(svg).toContain('adaptive (knob sweep)');
    expect(svg).toContain('other (knob sweep)');
    const labels = [...svg.matchAll(/<text [^>]*class="label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels.sort()).toEqual(
      ['keepalive-10m', 'never-unload', 'oracle', 'a&lt;b &amp; c', 'λ=1', 'λ=2', 'λ=3', '1', '2'].sort(),
    );
  });

  it('lower-left is better: the oracle sits on the 0 ticks, more waste is higher up (smaller y)', () => {
    const tick = (axis: 'x' | 'y') => {
      const m = svg.match(
        axis === 'x'
          ? /<text x="([\d.]+)" y="[\d.]+" [^>]*class="tick">0</
          : /<text x="[\d.]+" y="([\d.]+)" [^>]*text-anchor="end" class="tick">0</,
      )!;
      return Number(m[1]) - (axis === 'y' ? 4.5 : 0);
    };
    // Markers are drawn in row order, before the legend's.
    const point = (name: string) =>
      centre(
        [...svg.matchAll(/<(?:circle|polygon) [^>]*?(?:cx="([\d.]+)" cy="([\d.]+)"|points="([^"]+)")/g)][
          rows.findIndex((r) => r.policy === name)
        ]!,
      );
    expect(Math.abs(point('oracle').x - tick('x'))).toBeLessThan(2); // a polygon's corner mean is not quite its centre
    expect(Math.abs(point('oracle').y - tick('y'))).toBeLessThan(2);
    expect(point('never-unload').y).toBeLessThan(point('keepalive-10m').y);
    expect(point('keepalive-10m').x).toBeGreaterThan(point('never-unload').x);
    expect(svg).toContain('↙ lower-left is better');
  });

  it('a percentage axis stops at 100 when the data reaches 100 but not beyond, and goes past it only if the data does', () => {
    const xTicks = (data: PolicyRow[]) =>
      [...paretoSvg(data, 't').matchAll(/<text x="[\d.]+" y="([\d.]+)" [^>]*class="tick">([^<]+)</g)]
        .filter((m) => Number(m[1]) > 540) // under the frame
        .map((m) => Number(m[2]));
    expect(Math.max(...xTicks([row('keepalive-10m', 50, 100), row('kpa', 100, 60)]))).toBe(100);
    expect(Math.max(...xTicks([row('keepalive-10m', 50, 100), row('kpa', 97, 60)]))).toBe(100);
    expect(Math.max(...xTicks([row('keepalive-10m', 5, 100), row('kpa', 7.3, 60)]))).toBe(8);
    expect(Math.max(...xTicks([row('keepalive-10m', 50, 100), row('odd', 130, 60)]))).toBe(150);
  });
});

/** A marker's centre: a circle's, or the mean of a polygon's corners. */
function centre(m: RegExpMatchArray): { x: number; y: number } {
  if (m[1] !== undefined) return { x: Number(m[1]), y: Number(m[2]) };
  const corners = m[3]!.split(' ').map((p) => p.split(',').map(Number));
  return {
    x: corners.reduce((s, c) => s + c[0]!, 0) / corners.length,
    y: corners.reduce((s, c) => s + c[1]!, 0) / corners.length,
  };
}
