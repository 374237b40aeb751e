/** `swarmlet logs <swarmlet-id|micro-task-id> [--json]`: what tasks printed, as the running swarm kept it. */
import type { Command } from 'commander';
import { logsSchema } from '../api/schemas.js';
import { addApiFlags, apiTarget, callApi, printJson, type ApiFlags } from './api-client.js';

interface LogsOptions extends ApiFlags {
  readonly json: boolean;
}

/** Swarmlet ids are `s` and a number (s12); anything else names a micro-task. */
const SWARMLET_ID = /^s\d+$/;

export function logsCommand(program: Command): Command {
  return addApiFlags(
    program
      .command('logs')
      .description('what tasks printed on a running swarm, by swarmlet (s12) or by micro-task id (the last lines kept)')
      .argument('<id>', 'a swarmlet id like s12, or a micro-task id')
      .option('--json', 'print the API answer ({ lines: [...] }) as JSON', false),
  ).action(async (id: string, options: LogsOptions) => {
    const key = SWARMLET_ID.test(id) ? 'swarmlet' : 'microTask';
    const answer = await callApi(apiTarget(options), {
      method: 'GET',
      path: `/api/logs?${key}=${encodeURIComponent(id)}`,
      schema: logsSchema,
      fields: { [`query.${key}`]: 'id', query: 'id' },
      fixes: { id: 'give a swarmlet id like s1 (swarmlet status), or a micro-task id' },
    });
    if (options.json) return printJson(answer);
    if (answer.lines.length === 0) {
      process.stderr.write(`nothing printed is kept for ${key === 'swarmlet' ? 'swarmlet' : 'micro-task'} ${id}\n`);
      return;
    }
    // atMs is the swarm's runtime clock, not a wall time: shown as seconds on it.
    for (const line of answer.lines)
      process.stdout.write(
        `${(line.atMs / 1000).toFixed(3).padStart(10)}s ${line.swarmletId}` +
          `${line.microTaskId === undefined ? '' : ` ${line.microTaskId}`} ${line.line}\n`,
      );
  });
}
