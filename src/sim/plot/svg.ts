import { type Axis, project, tickText } from './axis.js';
import { baseline, type Box, type PlacedLabel, type Ring, type Spot } from './label-placement.js';

/**
 * SVG pieces shared by the simulator's plots, built as plain strings (a scatter plot or two do not warrant a charting
 * dependency): text, markers, axes with grid and titles, a legend, labels with leader lines.
 */
export const FONT_PX = { title: 17, note: 13, axisTitle: 14, tick: 13, label: 13, legend: 13 } as const;

/**
 * Okabe & Ito's colour-blind-safe palette (yellow left out: unreadable on white), then a neutral grey; ordered so
 * colours five apart (which share a marker shape in the Pareto plot) are far apart.
 */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#8c8c8c'];
export type Shape = 'circle' | 'square' | 'diamond' | 'triangle' | 'down' | 'star';
export const SHAPES: readonly Shape[] = ['circle', 'square', 'diamond', 'triangle', 'down', 'star'];
export const MARKER_PX = 5;
const TEXT_FILL = '#222';

export function svgDocument(width: number, height: number, parts: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT_PX.label}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}

export interface TextOptions {
  readonly size?: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly fill?: string;
  readonly bold?: boolean;
  readonly rotate?: boolean;
  readonly className?: string;
}

export function text(x: number, y: number, content: string, options: TextOptions = {}): string {
  const attributes = [
    options.rotate ? `transform="translate(${f(x)} ${f(y)}) rotate(-90)"` : `x="${f(x)}" y="${f(y)}"`,
    `font-size="${options.size ?? FONT_PX.label}"`,
    `fill="${options.fill ?? TEXT_FILL}"`,
  ];
  if (options.anchor && options.anchor !== 'start') attributes.push(`text-anchor="${options.anchor}"`);
  if (options.bold) attributes.push('font-weight="bold"');
  if (options.className) attributes.push(`class="${options.className}"`);
  return `<text ${attributes.join(' ')}>${escape(content)}</text>`;
}

/** A label at its placed box, with a thin leader line back to its point if it had to move away. */
export function label(content: string, placed: PlacedLabel): string {
  const parts = [];
  if (placed.leader) {
    const { from, to } = placed.leader;
    parts.push(
      `<line x1="${f(from.x)}" y1="${f(from.y)}" x2="${f(to.x)}" y2="${f(to.y)}" stroke="#777" stroke-width="0.8"/>`,
    );
  }
  parts.push(
    text(placed.box.x, baseline(placed.box.y, FONT_PX.label), content, { size: FONT_PX.label, className: 'label' }),
  );
  return parts.join('');
}

/** A faint circle round the true spot of markers spread apart because they coincide. */
export const ring = ({ x, y, radius }: Ring) =>
  `<circle cx="${f(x)}" cy="${f(y)}" r="${f(radius + MARKER_PX + 2)}" fill="none" stroke="#777" stroke-dasharray="2 2"/>`;

export function marker(shape: Shape, at: Spot, color: string): string {
  const r = MARKER_PX;
  const style = `fill="${color}" stroke="white" stroke-width="1"`;
  const polygon = (corners: readonly (readonly [number, number])[]) =>
    `<polygon points="${corners.map(([dx, dy]) => `${f(at.x + dx)},${f(at.y + dy)}`).join(' ')}" ${style}/>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${f(at.x)}" cy="${f(at.y)}" r="${r}" ${style}/>`;
    case 'square':
      return polygon([
        [-r, -r],
        [r, -r],
        [r, r],
        [-r, r],
      ]);
    case 'diamond':
      return polygon([
        [0, -r - 1.5],
        [r + 1.5, 0],
        [0, r + 1.5],
        [-r - 1.5, 0],
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
    case 'star':
      return polygon(
        Array.from({ length: 10 }, (_, i) => {
          const radius = i % 2 === 0 ? r + 2 : (r + 2) / 2.4;
          const angle = -Math.PI / 2 + (i * Math.PI) / 5;
          return [radius * Math.cos(angle), radius * Math.sin(angle)] as const;
        }),
      );
  }
}

export interface AxesOptions {
  readonly x: Axis;
  readonly y: Axis;
  /** The frame drawn; the data sits `insetPx` inside it, so points on an axis's end stay whole. */
  readonly frame: Box;
  readonly insetPx: number;
  readonly xTickLabels?: boolean;
  readonly yTickLabels?: boolean;
}

/** Pixel mappers for the data inside a frame. */
export function scales({ x, y, frame, insetPx }: AxesOptions) {
  return {
    sx: project(x, frame.x + insetPx, frame.x + frame.width - insetPx),
    sy: project(y, frame.y + frame.height - insetPx, frame.y + insetPx),
  };
}

/** Grid lines, tick labels and the frame. */
export function axes(options: AxesOptions): string[] {
  const { frame } = options;
  const { sx, sy } = scales(options);
  const bottom = frame.y + frame.height;
  const parts: string[] = [];
  for (const tick of options.x.ticks) {
    const px = sx(tick);
    parts.push(`<line x1="${f(px)}" y1="${frame.y}" x2="${f(px)}" y2="${bottom}" stroke="#e6e6e6"/>`);
    if (options.xTickLabels !== false)
      parts.push(text(px, bottom + 18, tickText(tick), { size: FONT_PX.tick, anchor: 'middle', className: 'tick' }));
  }
  for (const tick of options.y.ticks) {
    const py = sy(tick);
    parts.push(`<line x1="${frame.x}" y1="${f(py)}" x2="${frame.x + frame.width}" y2="${f(py)}" stroke="#e6e6e6"/>`);
    if (options.yTickLabels !== false)
      parts.push(text(frame.x - 7, py + 4.5, tickText(tick), { size: FONT_PX.tick, anchor: 'end', className: 'tick' }));
  }
  parts.push(
    `<rect x="${frame.x}" y="${frame.y}" width="${frame.width}" height="${frame.height}" fill="none" stroke="#444"/>`,
  );
  return parts;
}

/** Axis titles centred under and left of `area` (which may span several panels). */
export function axisTitles(area: Box, xTitle: string, yTitle: string): string[] {
  return [
    text(area.x + area.width / 2, area.y + area.height + 42, xTitle, { size: FONT_PX.axisTitle, anchor: 'middle' }),
    text(area.x - 52, area.y + area.height / 2, yTitle, { size: FONT_PX.axisTitle, anchor: 'middle', rotate: true }),
  ];
}

export interface LegendEntry {
  readonly label: string;
  readonly color: string;
  readonly shape: Shape;
  /** A sweep: drawn as its line through the marker. */
  readonly line?: boolean;
}

export const LEGEND_ROW_PX = 22;

export function legend(entries: readonly LegendEntry[], left: number, top: number): string[] {
  const parts = [text(left, top, 'Legend', { size: FONT_PX.legend, bold: true })];
  entries.forEach((entry, i) => {
    const y = top + (i + 1) * LEGEND_ROW_PX;
    const mark = { x: left + 10, y: y - 4.5 };
    if (entry.line)
      parts.push(
        `<line x1="${left}" y1="${f(mark.y)}" x2="${left + 20}" y2="${f(mark.y)}" stroke="${entry.color}" stroke-width="2"/>`,
      );
    parts.push(marker(entry.shape, mark, entry.color), text(left + 28, y, entry.label, { size: FONT_PX.legend }));
  });
  return parts;
}

export const CUE = '↙ lower-left is better';

export const f = (value: number) => value.toFixed(1);
export const escape = (content: string) =>
  content.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
