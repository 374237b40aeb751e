import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { InputError, type FixValue } from '../core/errors.js';
import { isLoopback } from '../api/auth.js';
import { checkCacheDir, checkHistoryFile } from '../swarm-checks.js';
import { parseSwarmOptions, type SwarmOptions } from '../swarm.js';
import { findJobFile } from './load-job.js';
import { parseSandboxChoice, resolveSandbox, type SandboxChoice } from '../runtime/local/sandbox.js';
import { scaleFlag } from './workflow-job.js';
import { redisConnectionOf, type RedisConnection, type RedisFlags } from './redis-flags.js';

/** `swarmlet run`'s options as commander hands them over (strings, before checks). */
export interface RunCommandOptions extends RedisFlags {
  readonly set: string[];
  readonly json: boolean;
  readonly progress: boolean;
  readonly maxSwarmlets?: string;
  readonly policy: string;
  readonly tickMs?: string;
  readonly cacheDir: string;
  readonly history: string | false;
  readonly priority?: string;
  readonly deadline?: string;
  /** Run on the cluster behind this Redis instead of this machine (also --redis-url-file or SWARMLET_REDIS_URL). */
  readonly redis?: string;
  readonly prefix: string;
  /** With --redis: names the job, so a second submit attaches to it instead of running it again. */
  readonly jobKey?: string;
  /** With --redis: the private key file that signs the job's task bundles (agents run only signed ones). */
  readonly signKey?: string;
  /** What holds task code in on this machine: auto, bwrap, process or none (default). */
  readonly sandbox?: string;
  /** A recorded workflow (WfCommons WfFormat) to run for real instead of a job. */
  readonly workflow?: string;
  readonly timeScale?: string;
  readonly memoryScale?: string;
  /** Serve the dashboard and the HTTP API (and keep serving after the job, unless --exit). */
  readonly dashboard: boolean;
  readonly port?: string;
  readonly httpHost?: string;
  readonly httpTokenFile?: string;
  readonly exit: boolean;
}

/** A `swarmlet run` whose arguments all passed their checks: what to load and how to run it. */
export interface RunPlan {
  readonly jobFile: string;
  readonly jobOptions: Record<string, string>;
  readonly sla: { readonly priority?: 'low' | 'normal' | 'high'; readonly deadlineMs?: number };
  /** Swarm options but the task modules (those come from the job file). */
  readonly swarm: Omit<SwarmOptions, 'tasks'> & { readonly cacheDir: string };
  readonly options: RunCommandOptions;
  /** The cluster's Redis, when a flag or SWARMLET_REDIS_URL names one: the job runs there. */
  readonly redis?: RedisConnection;
  /** With --workflow: the workflow file and its scales; the job file is written from it (workflow-job.ts). */
  readonly workflow?: { readonly file: string; readonly timeScale: number; readonly memoryScale: number };
}

/** The `run` command: its arguments and options as `swarmlet run --help` shows them. */
export function runCommandSpec(): Command {
  return new Command('run')
    .description('run a job on this machine (embedded mode, no server)')
    .argument('[job]', 'a job directory (with job.ts) or a job file, e.g. examples/file-pipeline')
    .option('--set <key=value>', "job option passed to the job's build() (repeatable)", collect, [] as string[])
    .option('--json', 'print the summary (and the job output) as JSON on stdout', false)
    .option('--no-progress', 'do not show live progress')
    .option('--max-swarmlets <n>', 'most swarmlets at once (default: CPU cores)')
    .option('--policy <policy>', 'adaptive, or static:type=count,... for a fixed split', 'adaptive')
    .option('--tick-ms <ms>', 'control loop period in ms (default 100)')
    .option('--priority <class>', "the job's priority class: low, normal or high")
    .option(
      '--deadline <duration>',
      'the job should finish within this long, e.g. 2s, 500ms, 1m (reported met or missed)',
    )
    .option('--cache-dir <dir>', 'where compiled task modules are kept', '.swarmlet/cache')
    .option(
      '--workflow <file>',
      'instead of a job: a recorded workflow (WfCommons JSON), each task burning CPU for its scaled runtime',
    )
    .option('--time-scale <x>', 'with --workflow: runtime multiplier, e.g. 0.01 (a 100 s task runs 1 s)', '0.01')
    .option('--memory-scale <x>', 'with --workflow: memory multiplier for what each task holds', '0.05')
    .option(
      '--sandbox <kind>',
      'hold task code in: auto (bwrap where it runs, else process), bwrap, process (Node permissions) or none',
    )
    .option('--history <file>', "history kept between runs, so a job's next run pre-warms what it needs", HISTORY)
    .option('--no-history', 'keep no history')
    .option(
      '--redis <url>',
      'run on the cluster behind this Redis (swarmlet serve + agents) instead of this machine (with a password: SWARMLET_REDIS_URL or --redis-url-file)',
    )
    .option('--redis-url-file <file>', 'read the Redis URL from this file (one line; chmod 600)')
    .option('--redis-ca <file>', "with rediss://: the CA certificate (PEM) that signed the server's")
    .option('--redis-cert <file>', "with rediss://: this client's certificate (PEM), for a server that asks for one")
    .option('--redis-key <file>', 'with rediss://: the private key (PEM) of --redis-cert')
    .option(
      '--dashboard',
      'serve the dashboard and the HTTP API (swarmlet jobs, cancel, status, logs find it); after the job, serve on until Ctrl-C',
      false,
    )
    .option('--port <n>', 'with --dashboard: the port to listen on (default 0: any free one)')
    .option(
      '--http-host <host>',
      'with --dashboard: the address to listen on (default 127.0.0.1; any other needs --http-token-file)',
    )
    .option(
      '--http-token-file <file>',
      'with --dashboard: a file holding the API token, 16+ characters (default: a fresh one, in .swarmlet/http.json)',
    )
    .option('--exit', 'with --dashboard: stop serving when the job ends (for scripts)', false)
    .option('--prefix <prefix>', "the cluster's key prefix in Redis", 'swarmlet')
    .option(
      '--job-key <key>',
      'with --redis: name the job so running this again attaches to it (or gets its outcome, for 24 h) instead of running twice',
    )
    .option(
      '--sign-key <file>',
      'with --redis: sign the task bundles with this Ed25519 private key (swarmlet keys new); agents run only signed ones',
    )
    .allowExcessArguments()
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
}

const HISTORY = '.swarmlet/history.json';
const collect = (value: string, all: string[]) => [...all, value];

/**
 * Checks `swarmlet run`'s arguments (without `run`) in this process, as the CLI does before it loads anything: every
 * rejection is an InputError naming the flag, the bad value and a fix (`write --flag value` or `remove --flag`).
 */
export async function parseRunArguments(argv: readonly string[]): Promise<RunPlan> {
  let plan: RunPlan | undefined;
  const command = runCommandSpec().action(async (target: string, options: RunCommandOptions, self: Command) => {
    plan = await checkRunArguments(target, options, self.args);
  });
  try {
    await command.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    throw commanderInputError(error);
  }
  return plan!;
}

/** Every check of `swarmlet run`'s arguments that needs nothing loaded. */
export async function checkRunArguments(
  target: string | undefined,
  options: RunCommandOptions,
  args: readonly string[] = target === undefined ? [] : [target],
): Promise<RunPlan> {
  const workflow = checkWorkflowFlags(target, options, args);
  if (args.length > 1)
    throw new InputError(
      `argument ${JSON.stringify(args[1])}`,
      'is one too many: run takes one job',
      `remove ${quote(args[1]!)}`,
      'remove',
    );
  checkPathFlags(options);
  const redis = redisConnectionOf(options);
  if (options.jobKey !== undefined && redis === undefined)
    throw flagError('--job-key', 'names a cluster job, and this run is on this machine', 'remove', 'add --redis <url>');
  if (options.signKey !== undefined && redis === undefined)
    throw flagError(
      '--sign-key',
      'signs cluster bundles, and this run is on this machine',
      'remove',
      'add --redis <url>',
    );
  if (options.sandbox !== undefined && redis !== undefined)
    throw flagError(
      '--sandbox',
      'holds swarmlets on this machine, and this run is on the cluster (each agent chooses its own)',
      'remove',
      'swarmlet agent --sandbox auto',
    );
  // With --workflow the job file is written later (workflow-job.ts); the plan names the workflow.
  const jobFile = workflow ? workflow.file : findJobFile(target!);
  const jobOptions = parseSetOptions(options.set);
  const sla = {
    ...(options.priority !== undefined && { priority: priorityClass(options.priority) }),
    ...(options.deadline !== undefined && { deadlineMs: durationMs('--deadline', options.deadline) }),
  };
  const http = httpFlags(options, redis !== undefined);
  const swarm = {
    ...(http && { http }),
    policy: parsePolicy(options.policy),
    cacheDir: options.cacheDir,
    historyFile: options.history,
    ...(options.maxSwarmlets !== undefined && {
      maxSwarmlets: integerFlag('--max-swarmlets', options.maxSwarmlets, availableParallelism()),
    }),
    ...(options.tickMs !== undefined && { tickMs: integerFlag('--tick-ms', options.tickMs, 100) }),
    ...(options.sandbox !== undefined && { sandbox: sandboxFlag(options.sandbox) }),
  };
  try {
    parseSwarmOptions({ tasks: ['(from the job file)'], ...swarm });
    await checkCacheDir(resolve(options.cacheDir), 'Swarm options.cacheDir');
    if (options.history !== false) await checkHistoryFile(resolve(options.history), 'Swarm options.historyFile');
  } catch (error) {
    throw error instanceof InputError ? asFlagError(error, swarm) : error;
  }
  return { jobFile, jobOptions, sla, swarm, options, ...(redis && { redis }), ...(workflow && { workflow }) };
}

/** --workflow replaces the job argument; its scales are refused without it. */
function checkWorkflowFlags(
  target: string | undefined,
  options: RunCommandOptions,
  args: readonly string[],
): RunPlan['workflow'] {
  if (options.workflow === undefined) {
    if (target === undefined)
      throw new InputError(
        'job',
        'is missing',
        'pass a job directory (with job.ts) or a job file, e.g. examples/file-pipeline (or --workflow <file>)',
      );
    return undefined;
  }
  if (target !== undefined || args.length > 0)
    throw new InputError(
      `argument ${JSON.stringify(target ?? args[0])}`,
      'is a job, and --workflow names what to run',
      `remove ${quote(target ?? args[0]!)}`,
      'remove',
    );
  if (redisConnectionOf(options) !== undefined)
    throw flagError('--workflow', 'runs on this machine, and this run is on the cluster', 'remove', 'remove --redis');
  return {
    file: options.workflow,
    timeScale: scaleFlag('--time-scale', options.timeScale ?? '0.01', '0.01'),
    memoryScale: scaleFlag('--memory-scale', options.memoryScale ?? '0.05', '0.05'),
  };
}

/** `--sandbox`: a choice this machine runs; else refused with a choice that is accepted (auto; process for bwrap). */
function sandboxFlag(value: string): SandboxChoice {
  const refused = (error: unknown, fix: SandboxChoice) =>
    error instanceof InputError
      ? flagError('--sandbox', error.message.slice('--sandbox: '.length).split('. Fix: ')[0]!, { value: fix })
      : error;
  let choice: SandboxChoice;
  try {
    choice = parseSandboxChoice(value, '--sandbox');
  } catch (error) {
    throw refused(error, 'auto');
  }
  try {
    resolveSandbox(choice, '--sandbox');
  } catch (error) {
    throw refused(error, 'process');
  }
  return choice;
}

/** Flags that name a file or directory, with a value each accepts (or none: remove the flag). */
const PATH_FLAGS: readonly (readonly [keyof RunCommandOptions, string, string | undefined])[] = [
  ['cacheDir', '--cache-dir', '.swarmlet/cache'],
  ['history', '--history', HISTORY],
  ['redisUrlFile', '--redis-url-file', undefined],
  ['redisCa', '--redis-ca', undefined],
  ['redisCert', '--redis-cert', undefined],
  ['redisKey', '--redis-key', undefined],
  ['signKey', '--sign-key', undefined],
  ['httpTokenFile', '--http-token-file', undefined],
];

/** commander takes whatever follows a flag as its value: in `--cache-dir --json`, a directory named `--json`. */
function checkPathFlags(options: RunCommandOptions): void {
  for (const [key, flag, example] of PATH_FLAGS) {
    const value = options[key];
    if (typeof value !== 'string' || !value.startsWith('--')) continue;
    throw flagError(
      flag,
      `${JSON.stringify(value)} looks like an option, not a path (the flag's value is missing?)`,
      example === undefined ? 'remove' : { value: example },
      `./${value} for a path that really starts with --`,
    );
  }
}

/** Which flag sets which Swarm option. */
const FLAGS: Record<string, string> = {
  maxSwarmlets: '--max-swarmlets',
  tickMs: '--tick-ms',
  policy: '--policy',
  cacheDir: '--cache-dir',
  historyFile: '--history',
  sandbox: '--sandbox',
};

/**
 * A Swarm option's InputError (from the schema, or from Swarm.start once the task types are known) in the words of
 * the command line: the flag, and the fix as a flag's value (a static split with the fix applied to it, for a split).
 */
export function asFlagError(error: InputError, swarm: RunPlan['swarm']): InputError {
  const listen = LISTEN_FLAGS[error.field]; // the server's refusals: a port in use, a host not of this machine
  if (listen) return flagError(listen[0], error.message.split('. Fix: ')[0]!.replace(/^[\w.]+: /, ''), listen[1]);
  const match = /^Swarm options\.(\w+)(?:\.static(?:\.([\w$]+)|\[("(?:[^"\\]|\\.)*")\]))?$/.exec(error.field);
  const option = match?.[1];
  const flag = option === undefined ? undefined : FLAGS[option];
  if (!flag || !match) return error;
  const problem = error.message.slice(error.field.length + 2).split('. Fix: ')[0]!;
  const type = match[2] ?? (match[3] === undefined ? undefined : (JSON.parse(match[3]) as string));
  if (type !== undefined && typeof swarm.policy === 'object' && 'static' in swarm.policy) {
    const split: Record<string, number> = { ...swarm.policy.static };
    if (error.fixValue === 'remove') delete split[type];
    else split[type] = Number(error.fixValue?.value ?? 1);
    // A split left empty (`static:`) is itself refused: run adaptively instead.
    const fix = Object.keys(split).length === 0 ? 'adaptive' : formatSplit(split);
    return flagError(flag, `${type} ${problem}`, { value: fix });
  }
  if (error.fixValue === undefined || error.fixValue === 'remove' || option === 'historyFile')
    return flagError(flag, problem, 'remove');
  return flagError(flag, problem, { value: String(error.fixValue.value) });
}

const LISTEN_FLAGS: Record<string, [string, FixValue]> = {
  'http.port': ['--port', { value: '0' }],
  'http.host': ['--http-host', { value: '127.0.0.1' }],
};

/** The fix is always a flag to write or to remove, so it can be applied as it is written. */
export function flagError(flag: string, problem: string, fixValue: FixValue, alternative?: string): InputError {
  const text = fixValue === 'remove' ? `remove ${flag}` : `write ${flag} ${quote(String(fixValue.value))}`;
  return new InputError(flag, problem, alternative ? `${text} (or ${alternative})` : text, fixValue);
}

function quote(value: string): string {
  return /^[\w./:=,@%+-]+$/.test(value) ? value : JSON.stringify(value);
}

/** commander's own refusals (unknown option, missing value…) as one-line InputErrors with a fix. */
export function commanderInputError(error: unknown): unknown {
  if (!(error instanceof CommanderError) || error.exitCode === 0) return error;
  const message = error.message.replace(/^error: /, '').split('\n')[0]!;
  const named = /'(--?[^' <[]+)/.exec(error.message)?.[1];
  const hint = /\(Did you mean (\S+)\?\)/.exec(error.message)?.[1];
  if (error.code === 'commander.unknownOption' && named)
    return flagError(named, 'is not an option of swarmlet run', 'remove', hint ? `did you mean ${hint}?` : undefined);
  if (error.code === 'commander.optionMissingArgument' && named) {
    const example = FLAG_EXAMPLES[named];
    return flagError(named, 'needs a value', example === undefined ? 'remove' : { value: example });
  }
  if (error.code === 'commander.missingArgument')
    return new InputError(
      'job',
      'is missing',
      'pass a job directory (with job.ts) or a job file, e.g. examples/file-pipeline',
    );
  return new InputError('arguments', message, 'see swarmlet run --help');
}

/** A value each flag accepts, for a flag given with none. */
const FLAG_EXAMPLES: Record<string, string> = {
  '--max-swarmlets': String(availableParallelism()),
  '--policy': 'adaptive',
  '--tick-ms': '100',
  '--priority': 'normal',
  '--deadline': '1m',
  '--cache-dir': '.swarmlet/cache',
  '--history': HISTORY,
  '--prefix': 'swarmlet',
  '--redis': 'redis://127.0.0.1:6379',
  '--sandbox': 'auto',
  '--port': '0',
  '--http-host': '127.0.0.1',
};

/** `--set key=value` pairs into an options record. */
export function parseSetOptions(pairs: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw flagError('--set', `${JSON.stringify(pair)} is not key=value`, 'remove', 'write --set dir=./data');
    const key = pair.slice(0, at);
    if (Object.hasOwn(options, key))
      throw flagError('--set', `${key} is given twice (${key}=${options[key]!}, then ${pair})`, 'remove');
    // An own property for any key: assigning `__proto__` would set the prototype and the option would vanish.
    Object.defineProperty(options, key, { value: pair.slice(at + 1), enumerable: true, writable: true });
  }
  return options;
}

/** `adaptive`, or `static:hash=2,compress=1`. */
export function parsePolicy(text: string): SwarmOptions['policy'] {
  if (text === 'adaptive') return 'adaptive';
  if (!text.startsWith('static:'))
    throw flagError(
      '--policy',
      `unknown policy ${JSON.stringify(text)}`,
      { value: 'adaptive' },
      'static:type=count,...',
    );
  const split: Record<string, number> = {};
  for (const part of text.slice('static:'.length).split(',')) {
    const [type, count, extra] = part.split('=');
    if (!type || count === undefined || extra !== undefined || !/^\d{1,3}$/.test(count))
      throw flagError(
        '--policy',
        `${JSON.stringify(part)} is not type=count`,
        { value: 'adaptive' },
        "static:type=count,... with each of the job's task types",
      );
    if (Object.hasOwn(split, type))
      throw flagError('--policy', `${type} is given twice in ${JSON.stringify(text)}`, {
        value: formatSplit({ ...split, [type]: Number(count) }),
      });
    Object.defineProperty(split, type, { value: Number(count), enumerable: true, writable: true });
  }
  return { static: split };
}

export function formatSplit(split: Readonly<Record<string, number>>): string {
  return `static:${Object.entries(split)
    .map(([type, count]) => `${type}=${count}`)
    .join(',')}`;
}

function priorityClass(text: string): 'low' | 'normal' | 'high' {
  if (text === 'low' || text === 'normal' || text === 'high') return text;
  throw flagError('--priority', `${JSON.stringify(text)} is not a priority class`, { value: 'normal' }, 'high or low');
}

const MAX_DEADLINE_MS = 7 * 24 * 3_600_000;

/** `2s`, `500ms`, `1.5m`, or plain milliseconds, up to a week (what a job's deadline may be). */
export function durationMs(field: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match?.[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const value = match ? Number(match[1]) * unit : Number.NaN;
  if (!(value > 0)) throw flagError(field, `${JSON.stringify(text)} is not a duration`, { value: '2s' }, '500ms or 1m');
  if (value > MAX_DEADLINE_MS) throw flagError(field, `${JSON.stringify(text)} is more than a week`, { value: '1h' });
  return value;
}

/** An integer flag; its range is the Swarm option's (checked with it), so a fix suggested here is one it accepts. */
function integerFlag(flag: string, text: string, fallback: number): number {
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw flagError(flag, `${JSON.stringify(text)} is not a positive integer`, { value: String(fallback) });
  return value;
}

const DASHBOARD_FLAGS = [
  ['port', '--port'],
  ['httpHost', '--http-host'],
  ['httpTokenFile', '--http-token-file'],
  ['exit', '--exit'],
] as const;

/** --dashboard and the flags that only mean something with it: the Swarm's `http` option. */
function httpFlags(options: RunCommandOptions, cluster: boolean): SwarmOptions['http'] {
  if (!options.dashboard) {
    const given = DASHBOARD_FLAGS.find(([key]) => options[key] !== undefined && options[key] !== false);
    if (given) throw flagError(given[1], 'only applies with --dashboard', 'remove', 'add --dashboard');
    return undefined;
  }
  if (cluster)
    throw flagError('--dashboard', 'serves a swarm on this machine, and this run is on the cluster', 'remove');
  const port = options.port === undefined ? 0 : Number(options.port);
  if (options.port !== undefined && (!/^\s*\d{1,5}\s*$/.test(options.port) || port > 65_535))
    throw flagError(
      '--port',
      `${JSON.stringify(options.port)} is not a port (0 to 65535)`,
      { value: '0' },
      '0 is any free port',
    );
  const host = options.httpHost ?? '127.0.0.1';
  if (options.httpTokenFile === undefined) {
    if (!isLoopback(host))
      throw flagError(
        '--http-host',
        `${host} is reachable from other machines and no token is given`,
        { value: '127.0.0.1' },
        'add --http-token-file FILE holding a secret',
      );
    return { port, host };
  }
  return { port, host, token: tokenFrom(options.httpTokenFile) };
}

/** The token file's secret: readable, and long enough not to be guessed. */
function tokenFrom(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw flagError(
      '--http-token-file',
      `cannot read ${file} (${(error as { code?: string }).code ?? String(error)})`,
      'remove',
      'a readable file holding a secret of 16+ characters',
    );
  }
  if (token.length < 16)
    throw flagError(
      '--http-token-file',
      `${file} holds ${token.length} characters and a token needs 16 or more`,
      'remove',
      `write a longer secret into it: openssl rand -base64 24 > ${file}`,
    );
  return token;
}
