/** `swarmlet status [--json]`: the running swarm at a glance. */
import type { Command } from 'commander';
import { statusSchema, type StatusView } from '../api/schemas.js';
import { addApiFlags, apiTarget, callApi, printJson, type ApiFlags } from './api-client.js';

interface StatusOptions extends ApiFlags {
  readonly json: boolean;
}

export function statusCommand(program: Command): Command {
  return addApiFlags(
    program
      .command('status')
      .description('a running swarm at a glance: policy, jobs, throughput, swarmlets by task type and state')
      .option('--json', 'print the API answer as JSON', false),
  ).action(async (options: StatusOptions) => {
    const target = apiTarget(options);
    const answer = await callApi(target, { method: 'GET', path: '/api/status', schema: statusSchema });
    if (options.json) return printJson(answer);
    process.stdout.write(`${statusText(target.url, answer)}\n`);
  });
}

export function statusText(url: string, status: StatusView): string {
  const swarmlets =
    status.swarmlets.length === 0
      ? ['  (none)']
      : status.swarmlets.map((s) => `  ${s.taskType.padEnd(16)} ${s.state.padEnd(10)} ${s.count}`);
  return [
    `swarm at ${url}: ${status.mode}, policy ${status.policy}, up ${(status.uptimeMs / 1000).toFixed(1)} s`,
    `jobs: ${status.jobs.running} running, ${status.jobs.done} done, ${status.jobs.failed} failed or cancelled`,
    `micro-tasks done: ${status.microTasksDone} (${status.throughputPerSec.toFixed(1)}/s)`,
    'swarmlets:',
    ...swarmlets,
  ].join('\n');
}
