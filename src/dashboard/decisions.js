// The decisions feed: newest first, filtered by kind, the last SHOWN of them. New decisions are prepended; the list
// is rebuilt only when the filter changes.
import { el, markColor } from './format.js';
import { serverClock } from './server-clock.js';

const SHOWN = 200;

export function createDecisionFeed(root, log) {
  const list = root.querySelector('[data-testid="decisions"]');
  const filter = root.querySelector('[data-testid="decision-filter"]');
  const counter = root.querySelector('[data-testid="decision-count"]');
  const legend = document.querySelector('[data-testid="mark-legend"]');
  let frame = 0;
  let shownKind;
  let shownSeq = -1;
  let shownVersion = -1;

  for (const option of filter.options) {
    if (!option.value) continue;
    const swatch = el('span', { class: 'mark', style: `background:${markColor(option.value)}` });
    legend.append(el('span', {}, swatch, option.value));
  }

  function render() {
    frame = 0;
    const kind = filter.value;
    if (kind !== shownKind) {
      list.replaceChildren();
      shownKind = kind;
      shownSeq = -1;
    } else if (log.version === shownVersion) return;
    shownVersion = log.version;
    const rows = [];
    for (let i = log.items.length - 1; i >= 0 && rows.length < SHOWN; i--) {
      const decision = log.items[i];
      if (decision.seq <= shownSeq) break;
      if (!kind || decision.kind === kind) rows.push(row(decision));
    }
    shownSeq = log.lastSeq;
    list.querySelector(':scope > li.empty')?.remove();
    list.prepend(...rows);
    while (list.childElementCount > SHOWN) list.lastElementChild.remove();
    if (list.childElementCount === 0) list.append(el('li', { class: 'empty' }, 'No decisions yet.'));
    counter.textContent = `${log.items.length.toLocaleString('en-US')} kept, newest first`;
  }

  const update = () => {
    if (frame === 0) frame = requestAnimationFrame(render);
  };
  filter.addEventListener('change', update);
  return { update };
}

function row(decision) {
  const who = [decision.taskType, decision.swarmletId].filter(Boolean).join(' · ');
  return el(
    'li',
    { 'data-seq': decision.seq, 'data-kind': decision.kind },
    el('span', { class: 'time' }, serverClock.timeOfDay(decision.atMs)),
    el('span', { class: 'kind', style: `color:${markColor(decision.kind)}` }, decision.kind),
    el('span', { class: 'what' }, who ? el('span', { class: 'who' }, who) : undefined, decision.reason),
  );
}
