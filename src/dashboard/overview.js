// Overview: job counts, throughput over time (from the status events), swarmlets by task type and state.
import { clockTime, count, duration, el, fillTable, typeColor } from './format.js';

const POINTS_KEPT = 600;

export function createOverview(root) {
  const value = (id) => root.querySelector(`[data-testid="${id}"]`);
  const chartBox = value('throughput-chart');
  const times = [];
  const rates = [];
  let previous;
  let chart;
  let lastTable = '';

  function chartOf(width) {
    return new uPlot(
      {
        width,
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // At least a minute wide: one point alone would stretch the axis over years.
        scales: {
          x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
        },
        axes: [
          {
            stroke: '#6b7280',
            grid: { stroke: '#eef0f3' },
            space: 80,
            values: (_u, ticks) => ticks.map((t) => clockTime(t * 1000)),
          },
          { stroke: '#6b7280', grid: { stroke: '#eef0f3' } },
        ],
        series: [{}, { label: 'micro-tasks/s', stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)' }],
      },
      [times, rates],
      chartBox,
    );
  }

  /** The rate between two status events (the status's own figure is a run-long mean). */
  function addPoint(status) {
    if (previous && status.uptimeMs > previous.uptimeMs) {
      const rate = ((status.microTasksDone - previous.microTasksDone) * 1000) / (status.uptimeMs - previous.uptimeMs);
      const nowSec = Date.now() / 1000;
      // The rate holds over the span it was measured on: a first point alone gives uPlot no x range to draw.
      if (times.length === 0) {
        times.push(nowSec - (status.uptimeMs - previous.uptimeMs) / 1000);
        rates.push(Math.max(0, rate));
      }
      times.push(nowSec);
      rates.push(Math.max(0, rate));
      if (times.length > POINTS_KEPT) {
        times.shift();
        rates.shift();
      }
      value('throughput').textContent = `${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
    }
    previous = status;
    if (!chart && chartBox.clientWidth > 0) chart = chartOf(chartBox.clientWidth);
    else chart?.setData([times, rates]);
  }

  function swarmletTable(swarmlets) {
    const states = [...new Set(swarmlets.map((s) => s.state))].sort();
    const byType = new Map();
    for (const { taskType, state, count: n } of swarmlets) {
      const row = byType.get(taskType) ?? new Map();
      row.set(state, (row.get(state) ?? 0) + n);
      byType.set(taskType, row);
    }
    const key = JSON.stringify(swarmlets);
    if (key === lastTable) return;
    lastTable = key;
    const rows = [...byType].sort(([a], [b]) => a.localeCompare(b));
    fillTable(
      value('swarmlets-by-type'),
      ['task type', ...states.map((s) => `${s}#`), 'total#'],
      rows.map(([taskType, row]) => ({
        attributes: { 'data-testid': `type-swarmlets-${taskType}` },
        cells: [
          el('span', {}, el('span', { class: 'chip', style: `background:${typeColor(taskType)}` }), taskType),
          ...states.map((s) => ({ value: count(row.get(s) ?? 0), class: 'num' })),
          { value: count([...row.values()].reduce((a, b) => a + b, 0)), class: 'num' },
        ],
      })),
    );
    if (rows.length === 0)
      value('swarmlets-by-type').replaceChildren(el('caption', { class: 'empty' }, 'No live swarmlets.'));
  }

  function showStatus(status) {
    value('jobs-running').textContent = count(status.jobs.running);
    value('jobs-done').textContent = count(status.jobs.done);
    value('jobs-failed').textContent = count(status.jobs.failed);
    value('tasks-done').textContent = count(status.microTasksDone);
    value('swarmlets-live').textContent = count(status.swarmlets.reduce((sum, s) => sum + s.count, 0));
    document.querySelector('[data-testid="run-meta"]').textContent =
      `${status.mode} · policy ${status.policy} · up ${duration(status.uptimeMs)}`;
    addPoint(status);
    swarmletTable(status.swarmlets);
  }

  new ResizeObserver(() => chart?.setSize({ width: chartBox.clientWidth, height: 180 })).observe(chartBox);
  return { showStatus };
}
