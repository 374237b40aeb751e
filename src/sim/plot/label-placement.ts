/**
 * Where point labels go without covering each other: each label tries spots round its point, nearest first, and takes
 * the first clear of every earlier label, every marker and the other obstacles. Deterministic (same input, same
 * picture). Markers that would coincide are first moved onto a small ring round their shared spot so each shows.
 */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}
export interface Spot {
  readonly x: number;
  readonly y: number;
}
export interface Ring extends Spot {
  readonly radius: number;
}
export interface PlacedLabel {
  readonly box: Box;
  /** From the point to the label, when the label had to move away from it. */
  readonly leader: { readonly from: Spot; readonly to: Spot } | undefined;
}

/** An upper estimate of a sans-serif glyph's advance, so estimated boxes err on the side of no overlap. */
const EM_PER_CHAR = 0.62;
export const textWidth = (text: string, fontPx: number) => [...text].length * fontPx * EM_PER_CHAR;
export const textHeight = (fontPx: number) => Math.ceil(fontPx * 1.25);
/** The baseline of text whose box (as `textHeight` measures it) starts at `top`. */
export const baseline = (top: number, fontPx: number) => top + fontPx * 0.95;

export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

export function inside(box: Box, area: Box): boolean {
  return (
    box.x >= area.x &&
    box.y >= area.y &&
    box.x + box.width <= area.x + area.width &&
    box.y + box.height <= area.y + area.height
  );
}

export const around = (spot: Spot, radius: number): Box => ({
  x: spot.x - radius,
  y: spot.y - radius,
  width: 2 * radius,
  height: 2 * radius,
});

/**
 * Spots closer than `gapPx` to an earlier one join its group; a group of n > 1 is spread evenly on a ring round its
 * first member's spot, wide enough that neighbours on the ring stand `gapPx` apart. The rings are returned to be drawn.
 */
export function spreadCoincident(spots: readonly Spot[], gapPx: number): { spots: Spot[]; rings: Ring[] } {
  const groups: number[][] = [];
  spots.forEach((spot, i) => {
    const group = groups.find((members) => distance(spots[members[0]!]!, spot) < gapPx);
    if (group) group.push(i);
    else groups.push([i]);
  });
  const spread = [...spots];
  const rings: Ring[] = [];
  for (const members of groups) {
    if (members.length < 2) continue;
    const centre = spots[members[0]!]!;
    const radius = gapPx / (2 * Math.sin(Math.PI / members.length));
    members.forEach((index, k) => {
      const angle = Math.PI + (2 * Math.PI * k) / members.length; // the first goes left, the rest clockwise
      spread[index] = { x: centre.x + radius * Math.cos(angle), y: centre.y - radius * Math.sin(angle) };
    });
    rings.push({ ...centre, radius });
  }
  return { spots: spread, rings };
}

export interface LabelRequest {
  readonly text: string;
  readonly at: Spot;
  readonly fontPx: number;
}

/** How far a label may sit from its point before a leader line joins them. */
const LEADER_FROM_PX = 14;
const REACHES_PX = [7, 12, 20, 30, 44, 60, 80, 105, 135, 170];
const SCAN_STEP_PX = 6;

/**
 * Labels in the order given. A spot is clear if its box is inside `area`, overlaps no obstacle, earlier label or
 * leader line, and its own leader (if it needs one) crosses no earlier label. A label with no clear spot anywhere in
 * `area` is left out (undefined).
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  obstacles: readonly Box[],
  area: Box,
): (PlacedLabel | undefined)[] {
  const taken = [...obstacles];
  const labels: Box[] = [];
  const leaders: Segment[] = [];
  return requests.map((request) => {
    const size = { width: textWidth(request.text, request.fontPx), height: textHeight(request.fontPx) };
    const leaderTo = (box: Box) => {
      const to = nearestOnBox(box, request.at);
      return distance(to, request.at) > LEADER_FROM_PX ? { from: request.at, to } : undefined;
    };
    const free = (box: Box) => {
      if (!inside(box, area) || taken.some((other) => overlaps(box, other))) return false;
      if (leaders.some((segment) => crosses(segment, box))) return false;
      const leader = leaderTo(box);
      return !leader || !labels.some((other) => crosses(leader, other));
    };
    const box = candidates(request.at, size).find(free) ?? scan(request.at, size, area).find(free);
    if (!box) return undefined;
    const leader = leaderTo(box);
    taken.push(box);
    labels.push(box);
    if (!leader) return { box, leader };
    leaders.push(leader);
    return { box, leader: { from: towards(leader.from, leader.to, MARKER_CLEAR_PX), to: leader.to } };
  });
}

interface Segment {
  readonly from: Spot;
  readonly to: Spot;
}
/** A leader line starts this far from its point's centre, clear of the marker. */
const MARKER_CLEAR_PX = 7;

/** Whether the segment passes through the box (Liang–Barsky clipping). */
function crosses({ from, to }: Segment, box: Box): boolean {
  const [dx, dy] = [to.x - from.x, to.y - from.y];
  let [enter, leave] = [0, 1];
  const edges: [number, number][] = [
    [-dx, from.x - box.x],
    [dx, box.x + box.width - from.x],
    [-dy, from.y - box.y],
    [dy, box.y + box.height - from.y],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) enter = Math.max(enter, t);
    else leave = Math.min(leave, t);
  }
  return enter < leave;
}

function towards(from: Spot, to: Spot, px: number): Spot {
  const length = distance(from, to);
  return length <= px
    ? from
    : { x: from.x + ((to.x - from.x) * px) / length, y: from.y + ((to.y - from.y) * px) / length };
}

/** Right, left, above, below, then the diagonals, at growing reach. */
function candidates(at: Spot, { width, height }: { width: number; height: number }): Box[] {
  return REACHES_PX.flatMap((d) =>
    (
      [
        [at.x + d, at.y - height / 2],
        [at.x - d - width, at.y - height / 2],
        [at.x - width / 2, at.y - d - height],
        [at.x - width / 2, at.y + d],
        [at.x + d * 0.7, at.y - d * 0.7 - height],
        [at.x + d * 0.7, at.y + d * 0.7],
        [at.x - d * 0.7 - width, at.y - d * 0.7 - height],
        [at.x - d * 0.7 - width, at.y + d * 0.7],
      ] as const
    ).map(([x, y]) => ({ x, y, width, height })),
  );
}

/** Every spot of a grid over the area, nearest the point first: the last resort of a crowded plot. */
function scan(at: Spot, { width, height }: { width: number; height: number }, area: Box): Box[] {
  const boxes: Box[] = [];
  for (let x = area.x; x + width <= area.x + area.width; x += SCAN_STEP_PX)
    for (let y = area.y; y + height <= area.y + area.height; y += SCAN_STEP_PX) boxes.push({ x, y, width, height });
  const gap = (box: Box) => distance(nearestOnBox(box, at), at);
  return boxes.sort((a, b) => gap(a) - gap(b));
}

function nearestOnBox(box: Box, at: Spot): Spot {
  return {
    x: Math.min(Math.max(at.x, box.x), box.x + box.width),
    y: Math.min(Math.max(at.y, box.y), box.y + box.height),
  };
}

const distance = (a: Spot, b: Spot) => Math.hypot(a.x - b.x, a.y - b.y);
