// Nodes (cluster): state, price, measured reliability and latency, load, the last auction verdicts. Hidden when none.
import { el, fillTable } from './format.js';
import { serverClock } from './server-clock.js';

const VERDICTS_SHOWN = 3;

export function createNodes(root) {
  const table = root.querySelector('[data-testid="nodes"]');
  const link = document.querySelector('[data-testid="nodes-link"]');
  let shown = '';
  function show(nodes) {
    root.hidden = nodes.length === 0;
    link.hidden = nodes.length === 0;
    const key = JSON.stringify(nodes);
    if (key === shown) return;
    shown = key;
    fillTable(
      table,
      ['node', 'kind', 'state', 'price#', 'reliability#', 'latency#', 'swarmlets#', 'last verdicts'],
      nodes.map((node) => ({
        attributes: { 'data-testid': `node-${node.id}` },
        cells: [
          node.id,
          node.kind,
          node.state,
          { value: node.price.toFixed(3), class: 'num' },
          { value: node.reliability === undefined ? '–' : `${(node.reliability * 100).toFixed(1)} %`, class: 'num' },
          { value: node.latencyMs === undefined ? '–' : `${node.latencyMs.toFixed(0)} ms`, class: 'num' },
          { value: `${node.swarmlets} / ${node.capacity}`, class: 'num' },
          el(
            'span',
            {
              title: node.verdicts
                .map((v) => `${serverClock.timeOfDay(v.atMs)} ${v.taskType}: ${v.verdict}`)
                .join('\n'),
            },
            node.verdicts
              .slice(-VERDICTS_SHOWN)
              .map((v) => `${v.taskType}: ${v.verdict}`)
              .join(' · ') || '–',
          ),
        ],
      })),
    );
  }
  return { show };
}
