import { Command, CommanderError } from 'commander';
import { AdmissionError, InputError, JobCancelledError, TaskFailedError, TaskModuleError } from '../core/errors.js';
import { ApiCallError } from './api-client.js';
import { cancelCommand } from './cancel.js';
import { jobsCommand } from './jobs.js';
import { logsCommand } from './logs.js';
import { statusCommand } from './status.js';
import { runCommand } from './run.js';
import { commanderInputError, runCommandSpec } from './run-options.js';
import { serveCommand } from './serve.js';
import { addLogFlags } from './log-flags.js';
import { ClusterJobCancelledError } from './run-cluster.js';
import { addRedisSourceFlags } from './redis-flags.js';
import { agentCommand } from './agent.js';
import { keysCommand } from './keys.js';
import { ALL_POLICIES, ORCHESTRATOR_POLICY, simCommand } from './sim.js';
import { DEFAULT_WORKFLOW_OUT, DEFAULT_WORKFLOW_SLOTS } from './sim-workflow.js';
import { DEFAULT_WORKFLOW_POLICIES } from '../sim/workflow/compare.js';
import { DEFAULT_COLD_START_MS } from '../sim/workflow/replay.js';
import { DEFAULT_NODE_FAILURES } from './sim-cluster.js';
import { DEFAULT_NODE_MIX } from '../sim/cluster/node-mix.js';

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
  .option('--http <host:port>', 'serve the HTTP API and dashboard there, e.g. 127.0.0.1:8080 (port 0: any free port)')
  .option(
    '--http-token-file <file>',
    'a file (mode 0600) holding the token changes need (and everything, off loopback); required off loopback',
  )
  .option('--sign-key <file>', 'with --http: signs the bundles of job files submitted as { jobFile }')
  .action(serveCommand);
addLogFlags(addRedisSourceFlags(program.commands.find((command) => command.name() === 'serve')!));

agentCommand(program);
keysCommand(program);
jobsCommand(program);
cancelCommand(program);
statusCommand(program);
logsCommand(program);

program
  .command('sim')
  .description(
    'replay a trace (--trace) under keep-alive/pre-warm policies, or workflow DAGs (--workflow) through the orchestrator and baselines, and compare them (virtual clock)',
  )
  .option(
    '--trace <dir>',
    'trace directory in the Azure Functions 2019 format, e.g. ../shared/traces/azure-functions-2019',
  )
  .option(
    '--workflow <file|dir>',
    'WfCommons WfFormat 1.5 file or directory, e.g. ../shared/traces/wfcommons: adaptive through the real orchestrator, against static-equal, static-by-work, hpa, ray and list',
  )
  .option(
    '--policy <list>',
    `comma-separated policies (default: ${ALL_POLICIES}; with --workflow: ${DEFAULT_WORKFLOW_POLICIES.join(',')}). --trace also takes ${ORCHESTRATOR_POLICY} (opt-in): every invocation a job through the real orchestrator and adaptive policy on simulated swarmlets, every 100 ms tick simulated: keep it to a subset, e.g. --functions 200 --hours 8-12 (~35 s a seed; all 1,000 functions over one hour ~90 s)`,
  )
  .option(
    '--seeds <n|list>',
    'number of seeds or a list like 7,8,9 (--trace: seeds 1..n; --workflow: seeds 0..n-1, 0 the trace as recorded, others runtimes × seeded lognormal noise, σ 0.1)',
    '3',
  )
  .option(
    '--slots <list>',
    '--workflow: slot counts, at most this many one-core swarmlets at once',
    DEFAULT_WORKFLOW_SLOTS,
  )
  .option(
    '--cold-start-ms <ms>',
    "--workflow (and --trace's orchestrator entry): what a swarmlet's start (or a change of its type) costs, in ms; the default is an assumption until the cold start is measured on this machine",
    String(DEFAULT_COLD_START_MS),
  )
  .option(
    '--nodes <list>',
    "--workflow: simulate a cluster of each size instead (the director's policy, auction, node lifecycle and failover over simulated agents), e.g. 10,100,1000",
  )
  .option(
    '--node-mix <list>',
    'with --nodes: kind:price-per-core-second[:share] per node kind (shares default to equal)',
    DEFAULT_NODE_MIX,
  )
  .option(
    '--node-failures <p>',
    'with --nodes: each personal node leaves during the run with probability p (edge p/2, server p/10); its work fails over',
    DEFAULT_NODE_FAILURES,
  )
  .option('--functions <n>', 'replay only the first N functions')
  .option('--hours <A-B>', 'replay only hours A to B of the day, e.g. 8-12')
  .option('--arrivals <pattern>', "how a minute's invocations are placed: even, uniform or poisson", 'even')
  .option('--durations <mode>', "average (each row's Average) or sampled (inverse CDF over its percentiles)", 'average')
  .option(
    '--cold-price <seconds>',
    "adaptive's knob: a cold start costs this many seconds of the app's memory held idle (the orchestrator entry: the adaptive policy's keep-alive)",
    '14400',
  )
  .option(
    '--sweep <list>',
    "cold prices swept to draw adaptive's frontier (empty: none)",
    '600,1800,3600,7200,14400,28800,57600,115200',
  )
  .option(
    '--out <dir>',
    `where the results go (default: sim-results for report.json, results.csv, pareto.svg; with --workflow: ${DEFAULT_WORKFLOW_OUT} for results.json, results.csv, makespan-vs-cost.svg)`,
  )
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
  if (error instanceof ClusterJobCancelledError) {
    process.stderr.write(`swarmlet: job cancelled: ${error.message}\n`);
    return 1;
  }
  if (error instanceof ApiCallError || error instanceof JobCancelledError) {
    process.stderr.write(`swarmlet: ${error.message}\n`);
    return 1;
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
