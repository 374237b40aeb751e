import type { LlmRequests } from '../traces/azure-llm.js';
import { LLM_WORKLOAD_DEFAULTS, llmWorkload, type LlmWorkloadOptions } from './llm-workload.js';
import { fifoScheduler, SLA_SCHEDULER_DEFAULTS, slaScheduler, type SlaSchedulerOptions } from './schedulers.js';
import { replaySla, type SlaOutcome } from './sla-replay.js';

/** One seed's workload replayed under FIFO (the baseline, no admission) and under our SLA scheduler. */
export interface SlaRun {
  readonly seed: number;
  readonly fifo: SlaOutcome;
  readonly sla: SlaOutcome;
}

/** The same requests under both schedulers, in one run, so they compare like for like. */
export function compareSchedulers(
  trace: LlmRequests,
  seed: number,
  workload: Omit<LlmWorkloadOptions, 'seed'> = LLM_WORKLOAD_DEFAULTS,
  sla: SlaSchedulerOptions = SLA_SCHEDULER_DEFAULTS,
): SlaRun {
  const requests = llmWorkload(trace, { ...workload, seed });
  return {
    seed,
    fifo: replaySla(requests, workload.servers, fifoScheduler()),
    sla: replaySla(requests, workload.servers, slaScheduler(sla)),
  };
}

/** Markdown table: per seed, scheduler and class — completed, rejected at arrival, misses, waits. */
export function slaTable(runs: readonly SlaRun[]): string {
  const lines = [
    '| seed | scheduler | class | requests | completed | rejected | deadline misses | wait p50 | wait p99 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const run of runs) {
    for (const outcome of [run.fifo, run.sla]) {
      for (const c of outcome.classes) {
        const misses = c.priorityClass === 'low' ? 'no deadline' : `${c.missPercent.toFixed(2)}% (${c.deadlineMisses})`;
        const rejected = `${c.rejected} (${percentOf(c.rejected, c.requests)})`;
        lines.push(
          `| ${run.seed} | ${outcome.scheduler} | ${c.priorityClass} | ${c.requests} | ${c.completed} | ${rejected} | ${misses} | ${seconds(c.waitMsP50)} | ${seconds(c.waitMsP99)} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** Why requests were refused: per class and reason of the first run, a count and one example. */
export function rejectionReasons(run: SlaRun): string {
  const lines: string[] = [];
  for (const c of run.sla.classes) {
    for (const r of c.rejections) lines.push(`- ${c.priorityClass} · ${r.reason} × ${r.count}, e.g. ${r.example}`);
  }
  return lines.length === 0
    ? `nothing rejected (seed ${run.seed})`
    : [`rejected at arrival by ${run.sla.scheduler}, seed ${run.seed}:`, ...lines].join('\n');
}

function percentOf(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`;
}

function seconds(ms: number): string {
  return Number.isNaN(ms) ? '–' : `${(ms / 1000).toFixed(1)} s`;
}
