// Forecasts: predicted against measured duration per task type (a table, and the trail of one type as a chart),
// and the anomalies seen.
import { duration, el, fillTable, typeColor } from './format.js';
import { serverClock } from './server-clock.js';

const ANOMALIES_SHOWN = 100;

export function createForecasts(root) {
  const select = root.querySelector('[data-testid="forecast-type"]');
  const table = root.querySelector('[data-testid="forecasts"]');
  const chartBox = root.querySelector('[data-testid="forecast-chart"]');
  const anomalyList = root.querySelector('[data-testid="anomalies"]');
  let forecasts = [];
  let chart;
  let anomalies = [];

  function chartOf(width) {
    return new uPlot(
      {
        width,
        height: 180,
        legend: { live: false },
        scales: { x: { time: false } },
        axes: [
          {
            stroke: '#6b7280',
            grid: { stroke: '#eef0f3' },
            label: 'completed micro-tasks (oldest left)',
            labelSize: 20,
          },
          {
            stroke: '#6b7280',
            grid: { stroke: '#eef0f3' },
            values: (_u, ticks) => ticks.map((t) => `${t} ms`),
            size: 64,
          },
        ],
        series: [
          { label: 'micro-task' },
          { label: 'predicted', stroke: '#E69F00', width: 2, dash: [6, 4], spanGaps: true },
          { label: 'measured', stroke: '#0072B2', width: 1.5, points: { show: true, size: 4 } },
        ],
      },
      [[], [], []],
      chartBox,
    );
  }

  function showChart() {
    const forecast = forecasts.find((f) => f.taskType === select.value);
    const trail = forecast?.trail ?? [];
    const data = [trail.map((_p, i) => i + 1), trail.map((p) => p.predictedMs ?? null), trail.map((p) => p.actualMs)];
    if (!chart && chartBox.clientWidth > 0) chart = chartOf(chartBox.clientWidth);
    chart?.setData(data);
  }

  function show(list) {
    forecasts = [...list].sort((a, b) => a.taskType.localeCompare(b.taskType));
    const chosen =
      select.value ||
      forecasts.reduce((best, f) => (f.trail.length > (best?.trail.length ?? -1) ? f : best), undefined)?.taskType;
    const names = forecasts.map((f) => f.taskType);
    if (names.join('\0') !== [...select.options].map((o) => o.value).join('\0'))
      select.replaceChildren(...names.map((name) => el('option', { value: name }, name)));
    if (chosen) select.value = chosen;
    fillTable(
      table,
      ['task type', 'predicted#', 'measured mean#', 'error#'],
      forecasts.map((f) => ({
        attributes: { class: `clickable${f.taskType === select.value ? ' selected' : ''}`, 'data-type': f.taskType },
        cells: [
          el('span', {}, el('span', { class: 'chip', style: `background:${typeColor(f.taskType)}` }), f.taskType),
          { value: duration(f.predictedDurationMs), class: 'num' },
          { value: duration(f.meanDurationMs), class: 'num' },
          {
            value: f.durationErrorPercent === undefined ? '–' : `${f.durationErrorPercent.toFixed(0)} %`,
            class: 'num',
          },
        ],
      })),
    );
    showChart();
  }

  function addAnomalies(list) {
    anomalies = [...list.slice().reverse(), ...anomalies].slice(0, ANOMALIES_SHOWN);
    anomalyList.replaceChildren(
      ...(anomalies.length === 0
        ? [el('li', { class: 'empty' }, 'None seen.')]
        : anomalies.map((a) =>
            el(
              'li',
              { 'data-testid': 'anomaly' },
              el('span', { class: 'time' }, serverClock.timeOfDay(a.atMs)),
              el('span', { class: 'kind' }, `${a.ratio.toFixed(1)}× · ${a.phase}`),
              el('span', { class: 'what' }, el('span', { class: 'who' }, `${a.taskType} · ${a.microTask}`), a.reason),
            ),
          )),
    );
  }

  select.addEventListener('change', () => show(forecasts));
  table.addEventListener('click', (event) => {
    const type = event.target.closest('tr[data-type]')?.dataset.type;
    if (!type) return;
    select.value = type;
    show(forecasts);
  });
  new ResizeObserver(() => chart?.setSize({ width: chartBox.clientWidth, height: 180 })).observe(chartBox);
  function resetAnomalies(list) {
    anomalies = [];
    addAnomalies(list);
  }
  return { show, addAnomalies, resetAnomalies };
}
