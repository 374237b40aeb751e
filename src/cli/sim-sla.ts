import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LLM_WORKLOAD_DEFAULTS, llmWorkload } from '../sim/sla/llm-workload.js';
import { replaySla, type SlaOutcome } from '../sim/sla/sla-replay.js';
import { fifoScheduler, slaScheduler } from '../sim/sla/schedulers.js';
import { loadAzureLlm } from '../sim/traces/azure-llm.js';

/** The LLM request trace: a `code.csv` file, or a directory that holds one. */
export function llmTraceFile(trace: string): string | undefined {
  if (trace.endsWith('.csv') && existsSync(trace)) return trace;
  const inside = join(trace, 'code.csv');
  return existsSync(trace) && statSync(trace).isDirectory() && existsSync(inside) ? inside : undefined;
}

/**
 * `swarmlet sim` on the LLM trace: the same requests under FIFO and under our SLA queue (aging
 * below high, a reserve of servers for high), per seed, at the trace's overload.
 */
export async function simSla(file: string, seeds: readonly number[], json: boolean): Promise<void> {
  const { requests, issues } = await loadAzureLlm(file);
  for (const issue of issues.slice(0, 20)) process.stderr.write(`skipped row: ${issue.file}:${issue.line}: ${issue.message}\n`);
  const runs: { seed: number; outcomes: SlaOutcome[] }[] = seeds.map((seed) => {
    const work = llmWorkload(requests, { ...LLM_WORKLOAD_DEFAULTS, seed });
    const servers = LLM_WORKLOAD_DEFAULTS.servers;
    return { seed, outcomes: [replaySla(work, servers, fifoScheduler()), replaySla(work, servers, slaScheduler({ agingBelowHigh: true, reserveServers: 2 }))] };
  });
  if (json) return void process.stdout.write(`${JSON.stringify({ file, workload: LLM_WORKLOAD_DEFAULTS, runs }, null, 2)}\n`);
  const { overload, servers, classShares } = LLM_WORKLOAD_DEFAULTS;
  process.stdout.write(`${requests.arrivalsMs.length} requests · ${overload}× the capacity of ${servers} servers · classes high ${classShares.high} / normal ${classShares.normal} / low ${classShares.low}\n\n`);
  process.stdout.write('| seed | scheduler | class | requests | deadline misses | wait p50 | wait p99 |\n|---|---|---|---|---|---|---|\n');
  for (const { seed, outcomes } of runs) {
    for (const outcome of outcomes) {
      for (const c of outcome.classes) {
        const misses = c.priorityClass === 'low' ? 'no deadline' : `${c.missPercent.toFixed(2)}%`;
        process.stdout.write(`| ${seed} | ${outcome.scheduler} | ${c.priorityClass} | ${c.completed}/${c.requests} | ${misses} | ${(c.waitMsP50 / 1000).toFixed(1)} s | ${(c.waitMsP99 / 1000).toFixed(1)} s |\n`);
      }
    }
  }
}
