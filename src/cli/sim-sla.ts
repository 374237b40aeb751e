import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LLM_WORKLOAD_DEFAULTS } from '../sim/sla/llm-workload.js';
import { SLA_SCHEDULER_DEFAULTS } from '../sim/sla/schedulers.js';
import { compareSchedulers, rejectionReasons, slaTable } from '../sim/sla/sla-report.js';
import { loadAzureLlm } from '../sim/traces/azure-llm.js';

/** The LLM request trace: a `code.csv` file, or a directory that holds one. */
export function llmTraceFile(trace: string): string | undefined {
  if (trace.endsWith('.csv') && existsSync(trace)) return trace;
  const inside = join(trace, 'code.csv');
  return existsSync(trace) && statSync(trace).isDirectory() && existsSync(inside) ? inside : undefined;
}

/**
 * `swarmlet sim` on the LLM trace: the same requests under FIFO and under our SLA scheduler
 * (queue with aging below high, a reserve sized from forecast high demand, admission control for
 * the lower classes), per seed, at the trace's overload.
 */
export async function simSla(file: string, seeds: readonly number[], json: boolean): Promise<void> {
  const { requests, issues } = await loadAzureLlm(file);
  for (const issue of issues.slice(0, 20))
    process.stderr.write(`skipped row: ${issue.file}:${issue.line}: ${issue.message}\n`);
  const runs = seeds.map((seed) => compareSchedulers(requests, seed));
  if (json)
    return void process.stdout.write(
      `${JSON.stringify({ file, workload: LLM_WORKLOAD_DEFAULTS, scheduler: SLA_SCHEDULER_DEFAULTS, runs }, null, 2)}\n`,
    );
  const { overload, servers, classShares } = LLM_WORKLOAD_DEFAULTS;
  process.stdout.write(
    `${requests.arrivalsMs.length} requests · ${overload}× the capacity of ${servers} servers · classes high ${classShares.high} / normal ${classShares.normal} / low ${classShares.low}\n\n`,
  );
  process.stdout.write(`${slaTable(runs)}\n`);
  if (runs[0]) process.stdout.write(`\n${rejectionReasons(runs[0])}\n`);
}
