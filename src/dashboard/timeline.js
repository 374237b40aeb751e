// The swarmlet timeline on one <canvas>: a row per swarmlet (only the visible rows are drawn), segments coloured by
// the task type served, morph marks from the decisions, a strip of every decision on top. Redraws are coalesced into
// one animation frame, so a thousand swarmlets and a busy decision feed cost one draw per frame at most.
import { el, markColor, typeColor } from './format.js';
import { serverClock } from './server-clock.js';
import { placeMarks, stopTimes } from './timeline-marks.js';

const ROW_HEIGHT = 16;
const LABEL_WIDTH = 150;
const AXIS_HEIGHT = 22;
const STRIP_HEIGHT = 24;
const HEADER = AXIS_HEIGHT + STRIP_HEIGHT;
const RIGHT_PAD = 14;
const LISTED_MARKS = 300;
const HOVER_MARKS = 4;
/** The shortest time the axis spans: a run of a second would otherwise fill the width with one tick. */
const MIN_SPAN_MS = 10_000;
/** The timeline is as tall as its rows, up to this; beyond, it scrolls. */
const MAX_HEIGHT = 440;
const TICK_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);

export function createTimeline(root, log) {
  const scroller = root.querySelector('.timeline-scroll');
  const canvas = scroller.querySelector('canvas');
  const spacer = scroller.querySelector('.timeline-spacer');
  const tooltip = root.querySelector('.tooltip');
  const list = root.querySelector('[data-testid="timeline-marks"]');
  const windowSelect = root.querySelector('[data-testid="timeline-window"]');
  const context = canvas.getContext('2d');
  const drawnAt = new Map(); // seq → the page's Date.now() when first drawn: the latency the end-to-end test measures
  let swarmlets = [];
  let ends = new Map();
  let placed = { bySwarmlet: new Map(), version: -1, swarmletsVersion: -1 };
  let swarmletsVersion = 0;
  let frame = 0;
  let layout;
  let listedSeq = -1;

  window.swarmletDashboard = { ...window.swarmletDashboard, markDrawnAtMs: (seq) => drawnAt.get(seq) };

  function requestDraw() {
    if (frame === 0) frame = requestAnimationFrame(draw);
  }

  function showSwarmlets(views) {
    swarmlets = [...views].sort((a, b) => a.startedAtMs - b.startedAtMs || (a.id < b.id ? -1 : 1));
    ends = stopTimes(swarmlets, ends, serverClock.known ? serverClock.now() : undefined);
    swarmletsVersion += 1;
    const contentHeight = HEADER + swarmlets.length * ROW_HEIGHT;
    scroller.style.height = `${Math.min(MAX_HEIGHT, Math.max(contentHeight, 120)) + 2}px`;
    spacer.style.height = `${Math.max(0, contentHeight - scroller.clientHeight)}px`;
    root.querySelector('[data-testid="timeline-count"]').textContent =
      `${swarmlets.length.toLocaleString('en-US')} swarmlets`;
    requestDraw();
  }

  function timeRange(now) {
    const windowMs = Number(windowSelect.value);
    const end = Math.max(now, log.items.at(-1)?.atMs ?? 0);
    if (windowMs > 0) return [end - windowMs, end];
    let start = log.items[0]?.atMs ?? end;
    for (const s of swarmlets) start = Math.min(start, s.startedAtMs);
    return [Math.min(start, end - MIN_SPAN_MS), end];
  }

  function draw() {
    frame = 0;
    if (!serverClock.known) return; // the first status event tells the server's time
    const now = serverClock.now();
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    if (placed.version !== log.version || placed.swarmletsVersion !== swarmletsVersion)
      placed = { ...placeMarks(swarmlets, log.items), version: log.version, swarmletsVersion };
    const [start, end] = timeRange(now);
    const x = (ms) => LABEL_WIDTH + ((ms - start) / (end - start)) * (width - LABEL_WIDTH - RIGHT_PAD);
    layout = { start, end, x, width, now };
    drawRows(context, { swarmlets, ends, placed, x, start, end, now, width, height, top: scroller.scrollTop });
    drawHeader(context, { x, start, end, width });
    const drawn = drawStrip(context, log.items, { x, start, end, width });
    const drawnAtMs = Date.now();
    for (const decision of drawn) if (!drawnAt.has(decision.seq)) drawnAt.set(decision.seq, drawnAtMs);
    if (drawnAt.size > 2 * log.capacity) forgetOld(drawnAt, log.items[0]?.seq ?? 0);
    canvas.dataset.marks = String(drawn.length);
    // The time range drawn, for tests that point at a mark (server clock; the rows start LABEL_WIDTH in).
    canvas.dataset.rangeMs = `${start} ${end}`;
    const newest = drawn.at(-1);
    canvas.dataset.lastSeq = String(newest?.seq ?? -1);
    if (newest) canvas.dataset.lastDrawnAtMs = String(drawnAt.get(newest.seq));
    listMarks(drawn);
  }

  /** The hidden list of marks (the hover text, for tests and screen readers), appended to, never rebuilt. */
  function listMarks(drawn) {
    for (const decision of drawn) {
      if (decision.seq <= listedSeq) continue;
      listedSeq = decision.seq;
      list.append(
        el(
          'li',
          { 'data-seq': decision.seq, 'data-kind': decision.kind, 'data-swarmlet': decision.swarmletId },
          markText(decision),
        ),
      );
    }
    while (list.childElementCount > LISTED_MARKS) list.firstElementChild.remove();
  }

  function hover(event) {
    if (!layout) return;
    const box = canvas.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    const text = hitText(px, py);
    tooltip.hidden = text === undefined;
    if (text === undefined) return;
    tooltip.textContent = text;
    const left = Math.min(event.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    const top = Math.min(event.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8);
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${Math.max(0, top)}px`;
  }

  function hitText(px, py) {
    const { x } = layout;
    const near = (d) => Math.abs(x(d.atMs) - px) <= 5;
    if (py >= AXIS_HEIGHT && py < HEADER) return marksText(log.items.filter(near));
    if (py < HEADER) return undefined;
    const swarmlet = swarmlets[Math.floor((py - HEADER + scroller.scrollTop) / ROW_HEIGHT)];
    if (!swarmlet) return undefined;
    const marks = (placed.bySwarmlet.get(swarmlet.id) ?? []).filter(near);
    if (marks.length > 0) return marksText(marks);
    return swarmletText(swarmlet, ends.get(swarmlet.id), px, layout);
  }

  canvas.addEventListener('mousemove', hover);
  canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
  scroller.addEventListener('scroll', requestDraw, { passive: true });
  windowSelect.addEventListener('change', requestDraw);
  new ResizeObserver(requestDraw).observe(scroller);
  setInterval(requestDraw, 1000); // "now" moves on: running segments grow
  return { showSwarmlets, requestDraw };
}

function drawRows(ctx, view) {
  const { swarmlets, ends, placed, x, start, now, width, height, top } = view;
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT));
  const last = Math.min(swarmlets.length, Math.ceil((top + height - HEADER) / ROW_HEIGHT));
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, HEADER, width, height - HEADER);
  ctx.clip();
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let i = first; i < last; i++) {
    const swarmlet = swarmlets[i];
    const y = HEADER + i * ROW_HEIGHT - top;
    if (i % 2 === 1) {
      ctx.fillStyle = '#f8f9fb';
      ctx.fillRect(0, y, width, ROW_HEIGHT);
    }
    const stopped = swarmlet.state === 'stopped';
    ctx.fillStyle = stopped ? '#9ca3af' : '#374151';
    ctx.fillText(shortId(swarmlet.id), 8, y + ROW_HEIGHT / 2, LABEL_WIDTH - 16);
    const end = ends.get(swarmlet.id) ?? now;
    swarmlet.served.forEach((served, k) => {
      const from = Math.max(served.fromMs, start);
      const to = Math.min(swarmlet.served[k + 1]?.fromMs ?? end, view.end);
      if (to <= from) return;
      ctx.globalAlpha = stopped ? 0.45 : 0.9;
      ctx.fillStyle = typeColor(served.taskType);
      ctx.fillRect(x(from), y + 3, Math.max(1, x(to) - x(from)), ROW_HEIGHT - 6);
    });
    ctx.globalAlpha = 1;
    for (const mark of placed.bySwarmlet.get(swarmlet.id) ?? [])
      if (mark.atMs >= start) drawMark(ctx, x(mark.atMs), y + ROW_HEIGHT / 2, mark.kind);
  }
  ctx.restore();
}

function drawHeader(ctx, { x, start, end, width }) {
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, HEADER);
  ctx.fillStyle = '#f3f4f6';
  ctx.fillRect(0, AXIS_HEIGHT, width, STRIP_HEIGHT);
  ctx.strokeStyle = '#e2e5ea';
  ctx.beginPath();
  ctx.moveTo(0, HEADER - 0.5);
  ctx.lineTo(width, HEADER - 0.5);
  ctx.moveTo(LABEL_WIDTH - 0.5, 0);
  ctx.lineTo(LABEL_WIDTH - 0.5, HEADER);
  ctx.stroke();
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.fillStyle = '#6b7280';
  ctx.fillText('all decisions', 8, AXIS_HEIGHT + STRIP_HEIGHT / 2);
  const room = (width - LABEL_WIDTH - RIGHT_PAD) / 80;
  const step = TICK_STEPS_MS.find((s) => (end - start) / s <= room) ?? TICK_STEPS_MS.at(-1);
  ctx.textAlign = 'center';
  // Ticks on round times of day here, placed on the server's clock.
  const offset = serverClock.offsetMs;
  for (let t = Math.ceil((start + offset) / step) * step - offset; t <= end; t += step) {
    const tx = x(t);
    ctx.fillStyle = '#e5e7eb';
    ctx.fillRect(tx, AXIS_HEIGHT - 5, 1, 5);
    ctx.fillStyle = '#6b7280';
    if (tx > LABEL_WIDTH + 24 && tx < width - 24) ctx.fillText(serverClock.timeOfDay(t), tx, AXIS_HEIGHT / 2);
  }
  ctx.textAlign = 'start';
}

/** Every decision in the range on the strip under the axis; returns those drawn, oldest first. */
function drawStrip(ctx, decisions, { x, start, end }) {
  const drawn = [];
  const middle = AXIS_HEIGHT + STRIP_HEIGHT / 2;
  for (const decision of decisions) {
    if (decision.atMs < start || decision.atMs > end) continue;
    drawMark(ctx, x(decision.atMs), middle, decision.kind);
    drawn.push(decision);
  }
  return drawn;
}

function drawMark(ctx, x, y, kind) {
  ctx.beginPath();
  ctx.arc(x, y, 4, 0, 2 * Math.PI);
  ctx.fillStyle = markColor(kind);
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = '#ffffff';
  ctx.stroke();
}

/** The marks under the pointer (several decisions often share a tick), newest first. */
function marksText(decisions) {
  if (decisions.length === 0) return undefined;
  const shown = decisions.slice(-HOVER_MARKS).reverse().map(markText);
  if (decisions.length > HOVER_MARKS) shown.push(`… and ${decisions.length - HOVER_MARKS} more`);
  return shown.join('\n\n');
}

function markText(decision) {
  const who = [decision.taskType, decision.swarmletId].filter(Boolean).join(' · ');
  return `${serverClock.timeOfDay(decision.atMs)} ${decision.kind}${who ? ` (${who})` : ''}\n${decision.reason}`;
}

function swarmletText(swarmlet, endMs, px, { x, now }) {
  const served = swarmlet.served.findLast((s) => x(s.fromMs) <= px) ?? swarmlet.served[0];
  const until = endMs === undefined ? 'now' : serverClock.timeOfDay(endMs);
  const serving = served ? `${served.taskType} since ${serverClock.timeOfDay(served.fromMs)}` : swarmlet.taskType;
  const age = Math.round(((endMs ?? now) - swarmlet.startedAtMs) / 1000);
  return `${swarmlet.id} · ${swarmlet.state}\n${serving}\nstarted ${serverClock.timeOfDay(swarmlet.startedAtMs)}, until ${until} (${age} s)`;
}

function shortId(id) {
  return id.length > 22 ? `…${id.slice(-21)}` : id;
}

function forgetOld(drawnAt, oldestSeq) {
  for (const seq of drawnAt.keys()) if (seq < oldestSeq) drawnAt.delete(seq);
}
