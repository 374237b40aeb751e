import { Command } from 'commander';
import { InputError, TaskFailedError, TaskModuleError } from '../core/errors.js';
import { runCommand } from './run.js';

const program = new Command()
  .name('swarmlet')
  .description('Adaptive task orchestrator: jobs split into micro-tasks run on swarmlets that morph while the job runs.')
  .showHelpAfterError();

program
  .command('run')
  .description('run a job on this machine (embedded mode, no server)')
  .argument('<job>', 'a job directory (with job.ts) or a job file, e.g. examples/file-pipeline')
  .option('--set <key=value>', 'job option passed to the job\'s build() (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
  .option('--json', 'print the summary (and the job output) as JSON on stdout', false)
  .option('--no-progress', 'do not show live progress')
  .option('--max-swarmlets <n>', 'most swarmlets at once (default: CPU cores)')
  .option('--policy <policy>', 'adaptive, or static:type=count,... for a fixed split', 'adaptive')
  .option('--tick-ms <ms>', 'control loop period in ms (default 100)')
  .option('--cache-dir <dir>', 'where compiled task modules are kept', '.swarmlet/cache')
  .action(runCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}

/** Expected failures print one clear line; only real bugs show a stack (or with SWARMLET_DEBUG=1). */
function report(error: unknown): number {
  const debug = process.env.SWARMLET_DEBUG === '1';
  if (error instanceof InputError || error instanceof TaskModuleError) {
    process.stderr.write(`swarmlet: ${error.message}\n`);
    return 2;
  }
  if (error instanceof TaskFailedError) {
    process.stderr.write(`swarmlet: job failed: ${error.message}\n`);
    if (error.taskStack && debug) process.stderr.write(`${error.taskStack}\n`);
    return 1;
  }
  process.stderr.write(`swarmlet: unexpected error: ${error instanceof Error ? (debug ? error.stack : error.message) : String(error)}\n`);
  if (!debug) process.stderr.write('(run with SWARMLET_DEBUG=1 for the stack)\n');
  return 1;
}
