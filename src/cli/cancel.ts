/** `swarmlet cancel <job> [--json]`: cancels one job of the running swarm; the others run on. */
import type { Command } from 'commander';
import { cancelledSchema } from '../api/schemas.js';
import { addApiFlags, apiTarget, callApi, printJson, type ApiFlags } from './api-client.js';

interface CancelOptions extends ApiFlags {
  readonly json: boolean;
}

export function cancelCommand(program: Command): Command {
  return addApiFlags(
    program
      .command('cancel')
      .description(
        "cancel a running job of a running swarm: its waiting micro-tasks are dropped (needs the swarm's token)",
      )
      .argument('<job>', 'a job id, as swarmlet jobs shows it')
      .option('--json', 'print the API answer ({ jobId, state }) as JSON', false),
  ).action(async (job: string, options: CancelOptions) => {
    const answer = await callApi(apiTarget(options), {
      method: 'POST',
      path: `/api/jobs/${encodeURIComponent(job)}/cancel`,
      schema: cancelledSchema,
      fields: { 'path.id': 'job', id: 'job' },
      fixes: { job: 'use an id that swarmlet jobs lists' },
    });
    if (options.json) return printJson(answer);
    process.stdout.write(
      answer.state === 'cancelled'
        ? `job ${answer.jobId} cancelled\n`
        : `job ${answer.jobId} had already ended: ${answer.state}\n`,
    );
  });
}
