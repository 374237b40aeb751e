import { linearAxis } from './plot/axis.js';
import { around, baseline, type Box, placeLabels, spreadCoincident, type Spot } from './plot/label-placement.js';
import {
  axes,
  axisTitles,
  CUE,
  f,
  FONT_PX,
  label,
  legend,
  type LegendEntry,
  marker,
  MARKER_PX,
  PALETTE,
  ring,
  scales,
  SHAPES,
  svgDocument,
  text,
} from './plot/svg.js';
import type { PolicyRow } from './report.js';

/**
 * The Pareto plot as an SVG image: x = 75th-percentile app cold-start %, y = wasted memory-time as % of
 * keepalive-10m's; lower-left is better. Each baseline is a point named beside it; a knob sweep (family) is a line
 * through its points, each named by its knob value. Points that coincide are spread on a ring, each still named.
 */
const FRAME: Box = { x: 90, y: 78, width: 640, height: 460 };
const WIDTH = 1000;
const HEIGHT = FRAME.y + FRAME.height + 70;
const INSET_PX = 14;
/** Markers nearer than this are spread apart (two markers side by side just touch). */
const COINCIDE_PX = 2 * MARKER_PX + 3;

const SINGLE_SHAPES = SHAPES.filter((shape) => shape !== 'square');

interface Point {
  readonly row: PolicyRow;
  readonly color: string;
  readonly shape: (typeof SHAPES)[number];
  /** The text beside the point: a sweep's knob value, else the policy. */
  readonly name: string;
}

export function paretoSvg(rows: readonly PolicyRow[], title: string): string {
  const families = [...new Set(rows.flatMap((row) => (row.family === undefined ? [] : [row.family])))];
  const points = styled(rows, families);
  const axisOptions = {
    x: linearAxis(
      rows.map((row) => row.p75AppColdPercent.mean),
      { limit: 100 },
    ),
    y: linearAxis(
      rows.map((row) => row.wastedPercentOfBaseline.mean),
      { include: [100] },
    ),
    frame: FRAME,
    insetPx: INSET_PX,
  };
  const { sx, sy } = scales(axisOptions);
  const exact = points.map((p) => ({ x: sx(p.row.p75AppColdPercent.mean), y: sy(p.row.wastedPercentOfBaseline.mean) }));
  const { spots, rings } = spreadCoincident(exact, COINCIDE_PX);
  const seeds = Math.max(...rows.map((row) => row.seeds));
  const parts = [
    text(FRAME.x, 28, title, { size: FONT_PX.title, bold: true }),
    text(
      FRAME.x,
      50,
      `Mean over ${seeds} seed(s). A point per policy; a line joins a knob sweep's points, each named by its knob value.`,
      { size: FONT_PX.note, fill: '#555' },
    ),
    ...axes(axisOptions),
    ...axisTitles(
      FRAME,
      "cold starts: 75th percentile over apps of each app's cold-start rate (%, first calls excluded)",
      "wasted memory-time (% of keepalive-10m's)",
    ),
    ...families.map((family) => sweepLine(points, exact, family)),
    ...rings.map(ring),
    ...points.map((p, i) => marker(p.shape, spots[i]!, p.color)),
    ...labels(points, spots),
    ...legend(legendEntries(points, families), FRAME.x + FRAME.width + 24, FRAME.y + 12),
  ];
  return svgDocument(WIDTH, HEIGHT, parts);
}

/** A family's points share its colour and the square; baselines take a colour and one of the other shapes each. */
function styled(rows: readonly PolicyRow[], families: readonly string[]): Point[] {
  let single = 0;
  return rows.map((row) => {
    if (row.family !== undefined) {
      const color = PALETTE[families.indexOf(row.family) % PALETTE.length]!;
      const name = row.policy.startsWith(`${row.family} `) ? row.policy.slice(row.family.length + 1) : row.policy;
      return { row, color, shape: 'square', name };
    }
    const shape = SINGLE_SHAPES[single % SINGLE_SHAPES.length]!;
    const color = PALETTE[(families.length + single++) % PALETTE.length]!;
    return { row, color, shape, name: row.policy };
  });
}

/** The sweep through its points' true spots, in order of cold starts (its knob's order). */
function sweepLine(points: readonly Point[], exact: readonly Spot[], family: string): string {
  const line = points
    .map((p, i) => ({ p, spot: exact[i]! }))
    .filter(({ p }) => p.row.family === family)
    .sort((a, b) => a.p.row.p75AppColdPercent.mean - b.p.row.p75AppColdPercent.mean);
  const color = line[0]!.p.color;
  return `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-opacity="0.8" points="${line.map(({ spot }) => `${f(spot.x)},${f(spot.y)}`).join(' ')}"/>`;
}

/** Every point's name, baselines before sweep values, then the cue as near the lower-left corner as is clear. */
function labels(points: readonly Point[], spots: readonly Spot[]): string[] {
  const order = points.map((_, i) => i).sort((a, b) => rank(points[a]!) - rank(points[b]!));
  const corner = { x: FRAME.x, y: FRAME.y + FRAME.height };
  const requests = [
    ...order.map((i) => ({ text: points[i]!.name, at: spots[i]!, fontPx: FONT_PX.label })),
    { text: CUE, at: corner, fontPx: FONT_PX.label },
  ];
  const markers = spots.map((spot) => around(spot, MARKER_PX + 2));
  const area = { x: FRAME.x + 2, y: FRAME.y + 2, width: FRAME.width - 4, height: FRAME.height - 4 };
  const placed = placeLabels(requests, markers, area);
  const cue = placed.pop();
  const parts = cue
    ? [text(cue.box.x, baseline(cue.box.y, FONT_PX.label), CUE, { fill: '#666', className: 'cue' })]
    : [];
  placed.forEach((box, k) => {
    if (box) parts.push(label(points[order[k]!]!.name, box));
  });
  return parts;
}

const rank = (point: Point) => (point.row.family === undefined ? 0 : 1);

function legendEntries(points: readonly Point[], families: readonly string[]): LegendEntry[] {
  const singles = points.filter((p) => p.row.family === undefined);
  return [
    ...singles.map((p) => ({ label: p.row.policy, color: p.color, shape: p.shape })),
    ...families.map((family) => ({
      label: `${family} (knob sweep)`,
      color: points.find((p) => p.row.family === family)!.color,
      shape: 'square' as const,
      line: true,
    })),
  ];
}
