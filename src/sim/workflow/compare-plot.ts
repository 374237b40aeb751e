import { type Axis, logAxis } from '../plot/axis.js';
import { around, baseline, type Box, placeLabels, spreadCoincident } from '../plot/label-placement.js';
import {
  axes,
  axisTitles,
  CUE,
  f,
  FONT_PX,
  label,
  legend,
  marker,
  MARKER_PX,
  ring,
  scales,
  type Shape,
  svgDocument,
  text,
} from '../plot/svg.js';
import type { ComparisonRow, WorkflowPolicy } from './compare.js';

/**
 * The workflow comparison as an SVG image: one panel per slot count (same scales), x = makespan ÷ the lower bound,
 * y = swarmlet time held ÷ list's, both on log scales (they are ratios); a point per policy at the median over the
 * runs (instances × seeds), with bars over the 25th–75th percentiles. Lower-left is better. Each policy has its own
 * colour and shape, named in the legend and beside its point (moved apart, with a leader line, where points crowd).
 */
const PANEL = 330;
const GAP = 40;
const MARGIN = { left: 90, right: 200, top: 84, bottom: 70 };
const INSET_PX = 10;
const COINCIDE_PX = 2 * MARKER_PX + 3;
/** Okabe & Ito colours: the policy under study in vermillion, the yardstick in blue. */
const COLORS: Readonly<Record<WorkflowPolicy, string>> = {
  adaptive: '#D55E00',
  list: '#0072B2',
  'static-equal': '#8c8c8c',
  'static-by-work': '#009E73',
  hpa: '#CC79A7',
  ray: '#E69F00',
};
const SHAPES: Readonly<Record<WorkflowPolicy, Shape>> = {
  adaptive: 'star',
  list: 'circle',
  'static-equal': 'square',
  'static-by-work': 'diamond',
  hpa: 'triangle',
  ray: 'down',
};

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
  const x = logAxis(
    points.flatMap((p) => [p.x.low, p.x.high]),
    PANEL - 2 * INSET_PX,
  );
  const y = logAxis(
    points.flatMap((p) => [p.y.low, p.y.high]),
    PANEL - 2 * INSET_PX,
  );
  const runs = rows.filter((row) => row.policy === policies[0]).length / Math.max(1, slotCounts.length);
  const width = MARGIN.left + slotCounts.length * PANEL + (slotCounts.length - 1) * GAP + MARGIN.right;
  const height = MARGIN.top + PANEL + MARGIN.bottom;
  const panels: Box = { x: MARGIN.left, y: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: PANEL };
  const parts = [
    text(MARGIN.left, 28, 'Workflow replays: how long each policy took against what it cost', {
      size: FONT_PX.title,
      bold: true,
    }),
    text(
      MARGIN.left,
      50,
      `Point: median over ${runs} run(s) (instances × seeds) per slot count; bars: 25th–75th percentile. Lower-left is better.`,
      { size: FONT_PX.note, fill: '#555' },
    ),
    ...slotCounts.flatMap((slots, k) =>
      panel(
        points.filter((p) => p.slots === slots),
        { left: MARGIN.left + k * (PANEL + GAP), slots, x, y, yTickLabels: k === 0 },
      ),
    ),
    ...axisTitles(
      panels,
      'makespan ÷ lower bound max(critical path, work ÷ slots)  (×, log scale; 1 = no schedule is faster)',
      "swarmlet-seconds held ÷ list's  (× list's cost, log scale)",
    ),
    ...legend(
      policies.map((policy) => ({ label: policy, color: COLORS[policy], shape: SHAPES[policy] })),
      width - MARGIN.right + 24,
      MARGIN.top + 12,
    ),
  ];
  return `${svgDocument(width, height, parts)}\n`;
}

interface PanelFrame {
  readonly left: number;
  readonly slots: number;
  readonly x: Axis;
  readonly y: Axis;
  readonly yTickLabels: boolean;
}

function panel(points: readonly PlotPoint[], frame: PanelFrame): string[] {
  const box: Box = { x: frame.left, y: MARGIN.top, width: PANEL, height: PANEL };
  const axisOptions = { x: frame.x, y: frame.y, frame: box, insetPx: INSET_PX, yTickLabels: frame.yTickLabels };
  const { sx, sy } = scales(axisOptions);
  const exact = points.map((p) => ({ x: sx(p.x.median), y: sy(p.y.median) }));
  const { spots, rings } = spreadCoincident(exact, COINCIDE_PX);
  const parts = [
    text(box.x + PANEL / 2, box.y - 10, `${frame.slots} slots`, {
      size: FONT_PX.axisTitle,
      anchor: 'middle',
      bold: true,
    }),
    ...axes(axisOptions),
  ];
  points.forEach((p, i) => {
    const { x: cx, y: cy } = exact[i]!;
    const color = COLORS[p.policy];
    parts.push(
      `<line x1="${f(sx(p.x.low))}" y1="${f(cy)}" x2="${f(sx(p.x.high))}" y2="${f(cy)}" stroke="${color}" stroke-opacity="0.6" stroke-width="1.5"/>`,
      `<line x1="${f(cx)}" y1="${f(sy(p.y.low))}" x2="${f(cx)}" y2="${f(sy(p.y.high))}" stroke="${color}" stroke-opacity="0.6" stroke-width="1.5"/>`,
    );
  });
  parts.push(...rings.map(ring), ...points.map((p, i) => marker(SHAPES[p.policy], spots[i]!, COLORS[p.policy])));
  return [...parts, ...panelLabels(points, spots, box)];
}

/** The policy under study's name, the yardstick's, the rest, then the cue as near the lower-left as is clear. */
function panelLabels(points: readonly PlotPoint[], spots: readonly { x: number; y: number }[], box: Box): string[] {
  const order = points.map((_, i) => i).sort((a, b) => labelRank(points[a]!) - labelRank(points[b]!));
  const requests = [
    ...order.map((i) => ({ text: points[i]!.policy, at: spots[i]!, fontPx: FONT_PX.label })),
    { text: CUE, at: { x: box.x, y: box.y + box.height }, fontPx: FONT_PX.label },
  ];
  const area = { x: box.x + 2, y: box.y + 2, width: box.width - 4, height: box.height - 4 };
  const placed = placeLabels(
    requests,
    spots.map((spot) => around(spot, MARKER_PX + 2)),
    area,
  );
  const cue = placed.pop();
  const parts = cue
    ? [text(cue.box.x, baseline(cue.box.y, FONT_PX.label), CUE, { fill: '#666', className: 'cue' })]
    : [];
  placed.forEach((spot, k) => {
    if (spot) parts.push(label(points[order[k]!]!.policy, spot));
  });
  return parts;
}

const labelRank = (point: PlotPoint) => (point.policy === 'adaptive' ? 0 : point.policy === 'list' ? 1 : 2);

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
