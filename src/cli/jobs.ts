/** `swarmlet jobs [--state S] [--json]`: the running swarm's jobs, newest first, with progress per task type. */
import type { Command } from 'commander';
import { jobsSchema, listQuery, type JobView } from '../api/schemas.js';
import { InputError } from '../core/errors.js';
import { addApiFlags, apiTarget, callApi, printJson, type ApiFlags } from './api-client.js';

interface JobsOptions extends ApiFlags {
  readonly state?: string;
  readonly json: boolean;
}

const STATES = listQuery.shape.state.unwrap().options;

export function jobsCommand(program: Command): Command {
  return addApiFlags(
    program
      .command('jobs')
      .description('list the jobs of a running swarm (swarmlet run --dashboard): progress per task type, wall time')
      .option('--state <state>', `only jobs in this state: ${STATES.join(', ')}`)
      .option('--json', 'print the API answer ({ jobs: [...] }) as JSON', false),
  ).action(async (options: JobsOptions) => {
    if (options.state !== undefined && !(STATES as readonly string[]).includes(options.state))
      throw new InputError(
        '--state',
        `${JSON.stringify(options.state)} is not a job state`,
        `write --state running (or ${STATES.slice(1).join(', ')})`,
      );
    const query = options.state === undefined ? '' : `?state=${options.state}`;
    const answer = await callApi(apiTarget(options), {
      method: 'GET',
      path: `/api/jobs${query}`,
      schema: jobsSchema,
      fields: { 'query.state': '--state' },
    });
    if (options.json) return printJson(answer);
    if (answer.jobs.length === 0) {
      process.stderr.write(`no jobs${options.state === undefined ? '' : ` ${options.state}`}\n`);
      return;
    }
    process.stdout.write(`${jobsTable(answer.jobs)}\n`);
  });
}

/** One line a job: id, label, state, done/total, per type done/total (+running), wall time. */
export function jobsTable(jobs: readonly JobView[]): string {
  const rows = [
    ['ID', 'LABEL', 'STATE', 'DONE', 'BY TYPE', 'WALL'],
    ...jobs.map((job) => [
      job.id,
      job.label,
      job.state,
      `${job.done}/${job.total}`,
      job.byType.map((t) => `${t.taskType} ${t.done}/${t.total}${t.running > 0 ? ` +${t.running}` : ''}`).join(', '),
      `${(job.wallMs / 1000).toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
