// Small helpers shared by the views: elements from text (never HTML from the API), times, colours.

/** An element with attributes and children; strings become text nodes, so API text is never parsed as HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'style') node.style.cssText = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

/** A table's header and rows at once (rows: arrays of cells; a cell is text, a node, or { value, class }). */
export function fillTable(table, headers, rows) {
  const head = el(
    'tr',
    {},
    ...headers.map((h) => el('th', { class: h.endsWith('#') ? 'num' : '' }, h.replace(/#$/, ''))),
  );
  const body = rows.map((row) =>
    el(
      'tr',
      row.attributes ?? {},
      ...row.cells.map((cell) =>
        cell !== null && typeof cell === 'object' && !(cell instanceof Node)
          ? el('td', { class: cell.class }, cell.value)
          : el('td', {}, cell ?? ''),
      ),
    ),
  );
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
}

/** HH:MM:SS here (by hand: toLocaleTimeString costs ~0.1 ms a call, and the feed formats hundreds). */
export function clockTime(ms) {
  const date = new Date(ms);
  const two = (n) => (n < 10 ? `0${n}` : String(n));
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

export function duration(ms) {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export function count(n) {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}

// Okabe-Ito first (readable by colour-blind eyes), then hues spaced by the golden angle for types beyond eight.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#8C6D31', '#7A7A7A'];
const typeColors = new Map();

/** A stable colour per task type, in the order types are first seen. */
export function typeColor(taskType) {
  let color = typeColors.get(taskType);
  if (color === undefined) {
    const n = typeColors.size;
    color = n < PALETTE.length ? PALETTE[n] : `hsl(${Math.round((n * 137.508) % 360)} 55% 48%)`;
    typeColors.set(taskType, color);
  }
  return color;
}

export const MARK_COLORS = {
  replicate: '#16a34a',
  specialize: '#7c3aed',
  consolidate: '#ea580c',
  deprovision: '#dc2626',
  prewarm: '#0891b2',
  reclaim: '#92400e',
};

export function markColor(kind) {
  return MARK_COLORS[kind] ?? '#374151';
}
