import type { RunSummary } from '../runtime/run-report.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** The human summary `swarmlet run` ends with. */
export function renderSummary(name: string, summary: RunSummary): string {
  const lines: string[] = [];
  lines.push(
    `${name}: ${summary.microTasks} micro-tasks in ${seconds(summary.wallMs)} (${Math.round(summary.throughputPerSec)}/s), ${summary.coldStarts} cold starts, policy ${summary.policy}`,
  );
  lines.push('');
  lines.push(
    table(
      [
        'task type',
        'done',
        'mean ms',
        'predicted ms',
        'prediction error',
        'peak swarmlets',
        'cold starts',
        'mean cold ms',
        'retries',
      ],
      summary.taskTypes.map((t) => [
        t.taskType,
        `${t.done}/${t.total}`,
        t.meanDurationMs.toFixed(2),
        t.usage.predictedDurationMs === undefined
          ? '-'
          : `${t.usage.predictedDurationMs.toFixed(2)} (${t.usage.basis})`,
        t.usage.durationErrorPercent === undefined ? '-' : `${Math.round(t.usage.durationErrorPercent)}%`,
        t.peakSwarmlets,
        t.coldStarts,
        Math.round(t.meanColdStartMs),
        t.retries,
      ]),
    ),
  );
  const measured = summary.taskTypes.filter((t) => t.usage.cpu.observations > 0 || t.usage.memoryMb.observations > 0);
  if (measured.length > 0) {
    const cell = (value: number | undefined, digits: number): string =>
      value === undefined ? '-' : value.toFixed(digits);
    const error = (percent: number | undefined): string => (percent === undefined ? '-' : `${Math.round(percent)}%`);
    lines.push('', 'usage per micro-task, predicted vs actual (micro-tasks ≥ 1 ms are measured):');
    lines.push(
      table(
        ['  task type', 'cpu pred', 'cpu actual', 'cpu error', 'rss MB pred', 'rss MB actual', 'rss error', 'measured'],
        measured.map(({ taskType, usage: { cpu, memoryMb } }) => [
          `  ${taskType}`,
          cell(cpu.predicted, 2),
          cell(cpu.actualMean, 2),
          error(cpu.errorPercent),
          cell(memoryMb.predicted, 0),
          cell(memoryMb.actualMean, 0),
          error(memoryMb.errorPercent),
          cpu.observations,
        ]),
      ),
    );
  }
  const kinds = Object.entries(summary.actions);
  const count = kinds.reduce((sum, [, list]) => sum + list.reduce((n, item) => n + item.count, 0), 0);
  lines.push('', `morphing actions: ${count}`);
  for (const [kind, list] of kinds) {
    lines.push(`  ${kind} (${list.reduce((n, item) => n + item.count, 0)})`);
    for (const item of list) {
      const times = item.count > 1 ? ` ×${item.count}` : '';
      lines.push(`    +${seconds(item.firstAtMs)}${times}  ${item.reason}  [${item.subjects.join(', ')}]`);
    }
  }
  lines.push('', 'swarmlets (last monitor sample):');
  lines.push(
    table(
      ['  swarmlet', 'type', 'state', 'morphs', 'tasks', 'cpu %', 'rss MB', 'heap MB', 'loop p99 ms'],
      summary.swarmlets.map((s) => {
        const m = s.monitor;
        return [
          `  ${s.id}`,
          s.taskType,
          s.state,
          s.morphs,
          m?.tasksDone ?? '-',
          m ? Math.round(m.cpuPercent) : '-',
          m ? Math.round(m.rssMb) : '-',
          m ? Math.round(m.heapUsedMb) : '-',
          m ? m.eventLoopDelayMsP99.toFixed(1) : '-',
        ];
      }),
    ),
  );
  for (const job of summary.jobs.filter((j) => j.deadlineMs !== undefined).slice(-5)) {
    lines.push(
      '',
      `deadline ${seconds(job.deadlineMs!)} (${job.priority}): ${job.deadlineMet ? 'met' : 'missed'}, finished in ${seconds(job.wallMs)}`,
    );
  }
  const r = summary.reservations;
  lines.push(
    '',
    `reservations: peak ${Math.round(r.peakReservedMemoryMb)} of ${Math.round(r.budgetMemoryMb)} MB claimed by ${r.peakBusySwarmlets} busy swarmlet(s); ${r.deferred} start(s) deferred for room${r.lastDeferral ? ` (last: ${r.lastDeferral})` : ''}`,
  );
  lines.push('', summary.anomalies.length === 0 ? 'anomalies: none' : `anomalies: ${summary.anomalies.length}`);
  for (const anomaly of summary.anomalies.slice(0, 10))
    lines.push(`  +${seconds(anomaly.atMs)} ${anomaly.microTask}: ${anomaly.reason}`);
  lines.push('', limitsLine(summary.limits));
  lines.push('', summary.faults.length === 0 ? 'faults: none' : `faults: ${summary.faults.length}`);
  for (const fault of summary.faults) {
    const charged = fault.charged === undefined ? '' : `, one attempt charged to ${fault.charged} (it was running)`;
    lines.push(
      `  +${seconds(fault.atMs)} ${fault.swarmletId} ${fault.detail}; ${fault.requeued} micro-task(s) requeued${charged}`,
    );
  }
  return lines.join('\n');
}

function limitsLine(limits: RunSummary['limits']): string {
  const memory =
    limits.swarmletMemoryLimitMb === undefined
      ? 'no memory limit'
      : `memory ${Math.round(limits.swarmletMemoryLimitMb)} MB per swarmlet, ${ENFORCEMENT[limits.memoryEnforcement] ?? limits.memoryEnforcement}`;
  const time = limits.taskTimeoutMs === undefined ? 'no task time limit' : `task time ${limits.taskTimeoutMs} ms`;
  return `limits: ${memory}; ${time}; runaways: ${limits.onRunaway}; sandbox: ${limits.sandbox}`;
}

const ENFORCEMENT: Record<string, string> = {
  'cgroup-v1': 'held by the kernel (cgroup v1)',
  'cgroup-v2': 'held by the kernel (cgroup v2)',
  'proc-sampling': 'measured from outside (/proc) and stopped',
};
