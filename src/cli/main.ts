import { Command, CommanderError } from 'commander';
import { AdmissionError, InputError, TaskFailedError, TaskModuleError } from '../core/errors.js';
import { runCommand } from './run.js';
import { commanderInputError, runCommandSpec } from './run-options.js';
import { serveCommand } from './serve.js';
import { addRedisSourceFlags } from './redis-flags.js';
import { agentCommand } from './agent.js';
import { keysCommand } from './keys.js';
import { ALL_POLICIES, simCommand } from './sim.js';

const program = new Command()
  .name('swarmlet')
  .description(
    'Adaptive task orchestrator: jobs split into micro-tasks run on swarmlets that morph while the job runs.',
  )
  .showHelpAfterError();

program.addCommand(runCommandSpec().action(runCommand));

program
  .command('serve')
  .description('run the cluster director on Redis: places swarmlets on agents by auction, hands micro-tasks to BullMQ')
  .option(
    '--redis <url>',
    'Redis URL, e.g. redis://127.0.0.1:6379 (with a password: SWARMLET_REDIS_URL or --redis-url-file)',
  )
  .option('--prefix <prefix>', 'key prefix in Redis', 'swarmlet')
  .option('--tick-ms <ms>', 'control loop period', '200')
  .option('--node-ttl-ms <ms>', 'a node silent this long is dead and its work runs elsewhere', '3000')
  .option(
    '--payment <rule>',
    'how auction winners are paid: critical-value (truthful second price) or bid (pay as bid)',
    'critical-value',
  )
  .option(
    '--batch-max <n>',
    'most micro-tasks per BullMQ job when many tiny ones are ready at once (1: one job per micro-task)',
    '64',
  )
  .option(
    '--admission [limits]',
    "refuse a job whose class's predicted backlog is over its limit; limits like low=10s,normal=30s,high=2m (those are the defaults)",
  )
  .action(serveCommand);
addRedisSourceFlags(program.commands.find((command) => command.name() === 'serve')!);

agentCommand(program);
keysCommand(program);

program
  .command('sim')
  .description('replay a workload trace under keep-alive/pre-warm policies and compare them (virtual clock)')
  .requiredOption(
    '--trace <dir>',
    'trace directory in the Azure Functions 2019 format, e.g. ../shared/traces/azure-functions-2019',
  )
  .option('--policy <list>', 'comma-separated policies', ALL_POLICIES)
  .option('--seeds <n|list>', 'number of seeds (1..n) or a list like 7,8,9', '3')
  .option('--functions <n>', 'replay only the first N functions')
  .option('--hours <A-B>', 'replay only hours A to B of the day, e.g. 8-12')
  .option('--arrivals <pattern>', "how a minute's invocations are placed: even, uniform or poisson", 'even')
  .option('--durations <mode>', "average (each row's Average) or sampled (inverse CDF over its percentiles)", 'average')
  .option(
    '--cold-price <seconds>',
    "adaptive's knob: a cold start costs this many seconds of the app's memory held idle",
    '14400',
  )
  .option(
    '--sweep <list>',
    "cold prices swept to draw adaptive's frontier (empty: none)",
    '600,1800,3600,7200,14400,28800,57600,115200',
  )
  .option('--out <dir>', 'where report.json, results.csv and pareto.svg go', 'sim-results')
  .option('--no-check', 'skip the invariant checkers (faster)')
  .option('--json', 'print the report as JSON', false)
  .option('--no-progress', 'no progress bar')
  .action(simCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(commanderInputError(error));
}

/** Expected failures print one clear line; only real bugs show a stack (or with SWARMLET_DEBUG=1). */
function report(error: unknown): number {
  const debug = process.env.SWARMLET_DEBUG === '1';
  if (error instanceof CommanderError) return error.exitCode; // --help, --version: already printed
  if (error instanceof InputError || error instanceof TaskModuleError) {
    process.stderr.write(`swarmlet: ${error.message}\n`);
    return 2;
  }
  if (error instanceof AdmissionError) {
    process.stderr.write(`swarmlet: ${error.message}\n`);
    return 3;
  }
  if (error instanceof TaskFailedError) {
    process.stderr.write(`swarmlet: job failed: ${error.message}\n`);
    if (error.taskStack && debug) process.stderr.write(`${error.taskStack}\n`);
    return 1;
  }
  process.stderr.write(
    `swarmlet: unexpected error: ${error instanceof Error ? (debug ? error.stack : error.message) : String(error)}\n`,
  );
  if (!debug) process.stderr.write('(run with SWARMLET_DEBUG=1 for the stack)\n');
  return 1;
}
