import type { ComparisonRow, WorkflowPolicy } from './compare.js';

/**
 * The workflow comparison as an SVG image: one panel per slot count (same scales), x = makespan ÷ the lower bound,
 * y = swarmlet time held ÷ list's, both on log scales (they are ratios); a point per policy at the median over the
 * runs (instances × seeds), with bars over the 25th–75th percentiles. Lower-left is better. Each policy has its own
 * colour and shape, named in the legend and, where it fits without overlapping, beside its point. Hand-drawn: one
 * scatter plot does not warrant a chart library.
 */
const PANEL = 300;
const GAP = 40;
const MARGIN = { left: 70, right: 170, top: 64, bottom: 62 };
const FONT_PX = 11;
/** Wider than most glyphs of a sans-serif face at 11 px, so label boxes err on the side of no overlap. */
const CHAR_PX = 6.6;
const COLORS: Readonly<Record<WorkflowPolicy, string>> = {
  adaptive: '#d62728',
  list: '#1f77b4',
  'static-equal': '#7f7f7f',
  'static-by-work': '#2ca02c',
  hpa: '#9467bd',
  ray: '#ff7f0e',
};
const SHAPES: Readonly<Record<WorkflowPolicy, Shape>> = {
  adaptive: 'star',
  list: 'circle',
  'static-equal': 'square',
  'static-by-work': 'diamond',
  hpa: 'triangle',
  ray: 'down',
};
type Shape = 'circle' | 'square' | 'diamond' | 'triangle' | 'down' | 'star';

interface PlotPoint {
  readonly policy: WorkflowPolicy;
  readonly slots: number;
  readonly x: Quartiles;
  readonly y: Quartiles;
}
interface Quartiles {
  readonly low: number;
  readonly median: number;
  readonly high: number;
}
interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function comparisonSvg(rows: readonly ComparisonRow[], policies: readonly WorkflowPolicy[]): string {
  const slotCounts = [...new Set(rows.map((row) => row.slots))].sort((a, b) => a - b);
  const points = slotCounts.flatMap((slots) =>
    policies.flatMap((policy) => {
      const runs = rows.filter((row) => row.slots === slots && row.policy === policy);
      if (runs.length === 0) return [];
      return [
        {
          policy,
          slots,
          x: quartiles(runs.map((r) => r.makespanOverLowerBound)),
          y: quartiles(runs.map((r) => r.heldOverList)),
        },
      ];
    }),
  );
  const xRange = logRange(points.flatMap((p) => [p.x.low, p.x.high]));
  const yRange = logRange(points.flatMap((p) => [p.y.low, p.y.high]));
  const runs = rows.filter((row) => row.policy === policies[0]).length / Math.max(1, slotCounts.length);
  const width = MARGIN.left + slotCounts.length * PANEL + (slotCounts.length - 1) * GAP + MARGIN.right;
  const height = MARGIN.top + PANEL + MARGIN.bottom;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="${FONT_PX}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="14">Workflow replays: how long each policy took against what it cost</text>`,
    `<text x="${MARGIN.left}" y="38" fill="#555">Point: median over ${runs} run(s) (instances × seeds) per slot count; bars: 25th–75th percentile. Lower-left is better.</text>`,
  ];
  slotCounts.forEach((slots, k) => {
    const left = MARGIN.left + k * (PANEL + GAP);
    parts.push(
      ...panel(
        points.filter((p) => p.slots === slots),
        { left, slots, xRange, yRange, yLabels: k === 0 },
      ),
    );
  });
  parts.push(
    `<text x="${MARGIN.left + (width - MARGIN.left - MARGIN.right) / 2}" y="${height - 14}" text-anchor="middle">makespan ÷ lower bound max(critical path, work ÷ slots)  (×, log scale; 1 = no schedule is faster)</text>`,
    `<text transform="translate(18 ${MARGIN.top + PANEL / 2}) rotate(-90)" text-anchor="middle">swarmlet-seconds held ÷ list's  (× list's cost, log scale)</text>`,
  );
  policies.forEach((policy, i) => {
    const x = width - MARGIN.right + 24;
    const y = MARGIN.top + 12 + i * 22;
    parts.push(
      marker(SHAPES[policy], x, y - 4, COLORS[policy]),
      `<text x="${x + 12}" y="${y}">${escape(policy)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

interface PanelFrame {
  readonly left: number;
  readonly slots: number;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  readonly yLabels: boolean;
}

function panel(points: readonly PlotPoint[], frame: PanelFrame): string[] {
  const { left, xRange, yRange } = frame;
  const top = MARGIN.top;
  const along = (value: number, [low, high]: readonly [number, number]) =>
    (Math.log(Math.min(Math.max(value, low), high)) - Math.log(low)) / (Math.log(high) - Math.log(low));
  const sx = (x: number) => left + along(x, xRange) * PANEL;
  const sy = (y: number) => top + PANEL - along(y, yRange) * PANEL;
  const parts = [
    `<text x="${left + PANEL / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${frame.slots} slots</text>`,
  ];
  for (const tick of ticks(xRange, sx)) {
    parts.push(`<line x1="${f(sx(tick))}" y1="${top}" x2="${f(sx(tick))}" y2="${top + PANEL}" stroke="#eee"/>`);
    parts.push(`<text x="${f(sx(tick))}" y="${top + PANEL + 16}" text-anchor="middle">${tickText(tick)}</text>`);
  }
  for (const tick of ticks(yRange, sy)) {
    parts.push(`<line x1="${left}" y1="${f(sy(tick))}" x2="${left + PANEL}" y2="${f(sy(tick))}" stroke="#eee"/>`);
    if (frame.yLabels)
      parts.push(`<text x="${left - 6}" y="${f(sy(tick) + 4)}" text-anchor="end">${tickText(tick)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${PANEL}" height="${PANEL}" fill="none" stroke="#333"/>`);
  const centres = points.map((p) => [sx(p.x.median), sy(p.y.median)] as const);
  const taken: Box[] = centres.map(([cx, cy]) => ({ x: cx - 7, y: cy - 7, width: 14, height: 14 }));
  const cue = cueBox({ x: left, y: top, width: PANEL, height: PANEL }, taken);
  taken.push(cue);
  parts.push(`<text x="${f(cue.x)}" y="${f(cue.y + cue.height - 4)}" fill="#888">${CUE}</text>`);
  points.forEach((p, i) => {
    const [cx, cy] = centres[i]!;
    const color = COLORS[p.policy];
    parts.push(
      `<line x1="${f(sx(p.x.low))}" y1="${f(cy)}" x2="${f(sx(p.x.high))}" y2="${f(cy)}" stroke="${color}" stroke-opacity="0.5"/>`,
      `<line x1="${f(cx)}" y1="${f(sy(p.y.low))}" x2="${f(cx)}" y2="${f(sy(p.y.high))}" stroke="${color}" stroke-opacity="0.5"/>`,
      marker(SHAPES[p.policy], cx, cy, color),
    );
  });
  // The policy under study and the yardstick get their labels first; a crowded other is named by the legend.
  const labelOrder = points.map((_, i) => i).sort((a, b) => labelRank(points[a]!) - labelRank(points[b]!));
  labelOrder.forEach((i) => {
    const p = points[i]!;
    const [cx, cy] = centres[i]!;
    const box = placeLabel(p.policy, cx, cy, taken, { x: left, y: top, width: PANEL, height: PANEL });
    if (!box) return; // no free spot: the legend names it by colour and shape
    taken.push(box);
    parts.push(
      `<text x="${f(box.x)}" y="${f(box.y + box.height - 3)}" fill="${COLORS[p.policy]}">${escape(p.policy)}</text>`,
    );
  });
  return parts;
}

const labelRank = (point: PlotPoint) => (point.policy === 'adaptive' ? 0 : point.policy === 'list' ? 1 : 2);

const CUE = '↙ lower-left is better';

/** The cue in the panel's lower-left corner, or the first other corner clear of every point. */
function cueBox(area: Box, taken: readonly Box[]): Box {
  const width = CUE.length * CHAR_PX;
  const height = 16;
  const [left, right] = [area.x + 6, area.x + area.width - 6 - width];
  const [top, bottom] = [area.y + 4, area.y + area.height - 4 - height];
  const corners: [number, number][] = [
    [left, bottom],
    [left, top],
    [right, bottom],
    [right, top],
  ];
  const boxes = corners.map(([x, y]) => ({ x, y, width, height }));
  return boxes.find((box) => !taken.some((other) => overlaps(box, other))) ?? boxes[0]!;
}

/** The first spot around the point (right, left, above, below, then farther out) clear of every box taken. */
function placeLabel(text: string, cx: number, cy: number, taken: readonly Box[], area: Box): Box | undefined {
  const width = text.length * CHAR_PX;
  const height = FONT_PX + 3;
  for (const reach of [1, 2, 3]) {
    const d = 8 * reach;
    const spots: [number, number][] = [
      [cx + d, cy - height / 2],
      [cx - d - width, cy - height / 2],
      [cx - width / 2, cy - d - height],
      [cx - width / 2, cy + d],
      [cx + d, cy - d - height],
      [cx + d, cy + d],
      [cx - d - width, cy - d - height],
      [cx - d - width, cy + d],
      [cx - 4, cy + d],
      [cx - 4, cy - d - height],
      [cx + 4 - width, cy + d],
      [cx + 4 - width, cy - d - height],
    ];
    for (const [x, y] of spots) {
      const box = { x, y, width, height };
      if (inside(box, area) && !taken.some((other) => overlaps(box, other))) return box;
    }
  }
  return undefined;
}

function inside(box: Box, area: Box): boolean {
  return (
    box.x >= area.x + 2 &&
    box.y >= area.y + 2 &&
    box.x + box.width <= area.x + area.width - 2 &&
    box.y + box.height <= area.y + area.height - 2
  );
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function marker(shape: Shape, x: number, y: number, color: string): string {
  const r = 5;
  const polygon = (corners: readonly (readonly [number, number])[]) =>
    `<polygon points="${corners.map(([dx, dy]) => `${f(x + dx)},${f(y + dy)}`).join(' ')}" fill="${color}"/>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${f(x)}" cy="${f(y)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return polygon([
        [0, -r - 1],
        [r + 1, 0],
        [0, r + 1],
        [-r - 1, 0],
      ]);
    case 'triangle':
      return polygon([
        [0, -r - 1],
        [r + 1, r],
        [-r - 1, r],
      ]);
    case 'down':
      return polygon([
        [0, r + 1],
        [r + 1, -r],
        [-r - 1, -r],
      ]);
    case 'star': {
      const corners: [number, number][] = [];
      for (let i = 0; i < 10; i++) {
        const radius = i % 2 === 0 ? r + 2 : (r + 2) / 2.4;
        const angle = -Math.PI / 2 + (i * Math.PI) / 5;
        corners.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
      }
      return polygon(corners);
    }
  }
}

/** 25th, 50th and 75th percentiles (linear between order statistics); infinite ratios are left out. */
function quartiles(values: readonly number[]): Quartiles {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (q: number) => {
    if (sorted.length === 0) return Number.NaN;
    const position = q * (sorted.length - 1);
    const below = Math.floor(position);
    const above = Math.min(sorted.length - 1, below + 1);
    return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
  };
  return { low: at(0.25), median: at(0.5), high: at(0.75) };
}

/** A log-scale range around every value and 1 (the yardstick), padded by 5 % of a decade on each side. */
function logRange(values: readonly number[]): [number, number] {
  const positive = values.filter((value) => value > 0 && Number.isFinite(value));
  const low = Math.min(1, ...positive);
  const high = Math.max(1.2, ...positive);
  return [low / 10 ** 0.05, high * 10 ** 0.05];
}

/** Ratios worth a grid line; those closer than `MIN_TICK_GAP_PX` to a kept one are dropped (1 is always kept). */
const TICK_CANDIDATES = [
  0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000,
];
const MIN_TICK_GAP_PX = 26;

function ticks(range: readonly [number, number], scale: (value: number) => number): number[] {
  const inRange = TICK_CANDIDATES.filter((tick) => tick >= range[0] && tick <= range[1]);
  const kept = [1];
  const far = (tick: number) => kept.every((other) => Math.abs(scale(tick) - scale(other)) >= MIN_TICK_GAP_PX);
  for (const tick of [...inRange].sort((a, b) => Math.abs(Math.log(a)) - Math.abs(Math.log(b)))) {
    if (!kept.includes(tick) && far(tick)) kept.push(tick);
  }
  return kept.sort((a, b) => a - b);
}

function tickText(value: number): string {
  return value >= 10 ? value.toFixed(0) : String(Number(value.toFixed(2)));
}

const f = (value: number) => value.toFixed(1);
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
