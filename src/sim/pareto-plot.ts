import type { PolicyRow } from './report.js';

/**
 * The Pareto plot as an SVG image: x = 75th-percentile app cold-start %, y = wasted memory-time
 * normalised to keepalive-10m. Lower-left is better. Each baseline is a point; a knob sweep
 * (family) is a line. Hand-drawn: one scatter plot does not warrant a charting dependency.
 */
const WIDTH = 760;
const HEIGHT = 520;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 60 };
const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#ff7f0e',
];

export function paretoSvg(rows: readonly PolicyRow[], title: string): string {
  const points = rows.map((row) => ({ row, x: row.p75AppColdPercent.mean, y: row.wastedPercentOfBaseline.mean }));
  const xMax = niceCeil(Math.max(1, ...points.map((p) => p.x)));
  const yMax = niceCeil(Math.max(100, ...points.map((p) => p.y)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + (x / xMax) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    ...axes(xMax, yMax, sx, sy, plotW, plotH),
  ];
  const families = [...new Set(points.map((p) => p.row.family).filter((f): f is string => f !== undefined))];
  families.forEach((family, i) => {
    const line = points.filter((p) => p.row.family === family).sort((a, b) => a.x - b.x);
    parts.push(
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${line.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`,
    );
  });
  const singles = points.filter((p) => p.row.family === undefined);
  singles.forEach((p, i) => {
    const color = COLORS[(i + families.length) % COLORS.length]!;
    parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="5" fill="${color}"/>`);
    parts.push(legend(i + families.length, color, p.row.policy, 'circle'));
  });
  families.forEach((family, i) => {
    const color = COLORS[i % COLORS.length]!;
    for (const p of points.filter((q) => q.row.family === family))
      parts.push(
        `<rect x="${(sx(p.x) - 3).toFixed(1)}" y="${(sy(p.y) - 3).toFixed(1)}" width="6" height="6" fill="${color}"/>`,
      );
    parts.push(legend(i, color, `${family} (knob sweep)`, 'rect'));
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function axes(
  xMax: number,
  yMax: number,
  sx: (x: number) => number,
  sy: (y: number) => number,
  plotW: number,
  plotH: number,
): string[] {
  const parts = [
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    const y = (yMax * i) / 5;
    parts.push(`<line x1="${sx(x)}" y1="${MARGIN.top}" x2="${sx(x)}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(x)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${round(x)}</text>`);
    parts.push(`<line x1="${MARGIN.left}" y1="${sy(y)}" x2="${MARGIN.left + plotW}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${sy(y) + 4}" text-anchor="end">${round(y)}</text>`);
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 15}" text-anchor="middle">75th-percentile app cold-start % (first calls excluded)</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">wasted memory-time, % of keepalive-10m</text>`,
  );
  return parts;
}

function legend(index: number, color: string, label: string, shape: 'circle' | 'rect'): string {
  const x = WIDTH - MARGIN.right + 16;
  const y = MARGIN.top + 10 + index * 20;
  const mark =
    shape === 'circle'
      ? `<circle cx="${x}" cy="${y - 4}" r="5" fill="${color}"/>`
      : `<rect x="${x - 5}" y="${y - 9}" width="10" height="10" fill="${color}"/>`;
  return `${mark}<text x="${x + 12}" y="${y}">${escape(label)}</text>`;
}

function niceCeil(value: number): number {
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil((value * 1.05) / step) * step;
}

const round = (value: number) => (Math.abs(value) >= 10 ? value.toFixed(0) : value.toFixed(1));
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
