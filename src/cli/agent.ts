/**
 * `swarmlet agent --redis redis://…`: joins this machine to a swarm. Flags are checked here, at the
 * edge; every error names the flag and the fix. One line per change on stdout (started,
 * specialized, stopping, exited, consent). Ctrl-C / SIGTERM leave gracefully; SIGUSR2 revokes
 * consent (the owner takes the machine back: work goes elsewhere at once).
 */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import type { HourWindow, NodeKind } from '../place/node-probe.js';
import { ClusterAgent, type ClusterAgentOptions } from '../runtime/cluster/agent.js';
import { parseSandboxChoice } from '../runtime/local/sandbox.js';
import { withFields, type Logger } from '../core/logger.js';
import { addLogFlags, cliLogger, type LogFlags } from './log-flags.js';
import { addRedisSourceFlags, requiredRedisConnection, type RedisFlags } from './redis-flags.js';

export interface AgentCommandOptions extends RedisFlags, LogFlags {
  readonly prefix?: string;
  readonly nodeId?: string;
  readonly price?: string;
  readonly labels?: string;
  readonly kind?: string;
  readonly personal?: boolean;
  readonly consent?: boolean;
  readonly maxCpu?: string;
  readonly maxMemory?: string;
  readonly hours?: string;
  readonly idleOnly?: boolean;
  readonly heartbeatMs?: string;
  readonly ttlMs?: string;
  readonly drainTimeoutMs?: string;
  readonly checkpointMs?: string;
  readonly cacheDir?: string;
  readonly trust?: readonly string[];
  readonly allowUnsigned?: boolean;
  readonly sandbox?: string;
  readonly allowUnsandboxed?: boolean;
}

/** Registers `agent` on the program (main.ts wires it). */
export function agentCommand(program: Command): Command {
  const command = program
    .command('agent')
    .description(
      'join this machine to a swarm: advertise it, run the swarmlets the director wants, and their micro-tasks',
    )
    .option(
      '--redis <url>',
      'the Redis the director uses, e.g. redis://10.0.0.5:6379 (with a password: SWARMLET_REDIS_URL or --redis-url-file)',
    )
    .option('--prefix <prefix>', 'key prefix shared with the director', 'swarmlet')
    .option('--node-id <id>', "this node's id (default: <hostname>-<pid>)")
    .option('--price <perCoreSecond>', 'asking price per core-second, e.g. 0.02', '0')
    .option('--labels <key=value,...>', 'labels the director can filter on, e.g. gpu=false,zone=a')
    .option('--kind <kind>', 'server, edge or personal', 'server')
    .option('--personal', 'this is a personal machine (same as --kind personal): it needs --consent')
    .option('--consent', 'the owner consents to running work here (required for personal machines)')
    .option('--max-cpu <share>', "most of the machine's cores to use, e.g. 50% or 0.5")
    .option('--max-memory <mb>', 'most memory to use, in MB, e.g. 2048')
    .option('--hours <from-to,...>', 'local hours when work may run, e.g. 22-7 (wraps midnight) or 9-12,14-17')
    .option('--idle-only', 'work only while the machine is idle (1-minute load per core below 0.5)')
    .option('--heartbeat-ms <ms>', 'heartbeat period', '1000')
    .option('--ttl-ms <ms>', 'heartbeat and lease lifetime: a node silent this long is dead', '3000')
    .option(
      '--drain-timeout-ms <ms>',
      'how long a swarmlet that is no longer wanted may finish its work before the rest is requeued',
      '10000',
    )
    .option(
      '--checkpoint-ms <ms>',
      'how often stateful swarmlets save their state to Redis while they work (0: only when they leave their type)',
      '30000',
    )
    .option('--cache-dir <dir>', 'where task modules from Redis are written', '.swarmlet/cache')
    .option('--trust <publicKeyFiles...>', 'run only task bundles signed by one of these keys (swarmlet keys new)')
    .option('--allow-unsigned', 'also run unsigned bundles: anyone who can write to this Redis then runs code here')
    .option(
      '--sandbox <kind>',
      'hold task code in: auto (bwrap where it runs, else process), bwrap, process or none (default: auto on personal machines, none elsewhere)',
    )
    .option('--allow-unsandboxed', 'let a personal machine run task code without a sandbox, with the agent user rights')
    .action((options: AgentCommandOptions) => runAgent(options));
  addLogFlags(addRedisSourceFlags(command));
  return command;
}

const LEAVE_BOUND_MS = 10_000;

/** Runs the agent until SIGINT or SIGTERM; resolves once it has left the swarm (or exits after a bound). */
export async function runAgent(flags: AgentCommandOptions): Promise<void> {
  const logger = cliLogger(flags);
  const options = agentOptionsFromFlags(flags, logger);
  let agent: ClusterAgent;
  try {
    agent = await ClusterAgent.start(options);
  } catch (error) {
    throw error instanceof InputError ? asFlagError(error) : error;
  }
  const said = withFields(logger, { nodeId: agent.nodeId });
  await new Promise<void>((resolve) => {
    let leaving = false;
    const leave = (signal: string) => {
      if (leaving) process.exit(130); // a second Ctrl-C: do not wait
      leaving = true;
      said.info({ signal }, `${signal}: leaving the swarm (leases requeued, swarmlets stopped)`);
      process.off('SIGUSR2', revoke);
      // Leaving waits on Redis (results, leases, the node key); with Redis gone it would wait
      // forever. Past the bound the agent exits: its leases come back by lock expiry elsewhere.
      const boundMs = Math.max(LEAVE_BOUND_MS, 2 * (options.ttlMs ?? 0));
      setTimeout(() => {
        process.stderr.write(
          `swarmlet: could not leave gracefully within ${boundMs} ms (is Redis reachable?): exiting; its leases return to the queue by lock expiry\n`,
        );
        process.exit(1);
      }, boundMs).unref();
      agent
        .stop()
        .catch((error: unknown) =>
          process.stderr.write(`swarmlet: ${error instanceof Error ? error.message : String(error)}\n`),
        )
        .finally(resolve);
    };
    const revoke = () => {
      said.warn({ signal: 'SIGUSR2' }, 'SIGUSR2: consent revoked: requeueing every lease and stopping every swarmlet');
      void agent.revokeConsent();
    };
    process.once('SIGINT', () => leave('SIGINT'));
    process.once('SIGTERM', () => leave('SIGTERM'));
    process.on('SIGUSR2', revoke);
  });
}

/** The flags as agent options; a bad flag is an InputError naming it. */
export function agentOptionsFromFlags(flags: AgentCommandOptions, logger: Logger): ClusterAgentOptions {
  const kind = kindOf(flags);
  const caps =
    flags.maxCpu !== undefined || flags.maxMemory !== undefined || flags.hours !== undefined || flags.idleOnly === true;
  const connection = requiredRedisConnection(flags);
  return {
    redisUrl: connection.url,
    ...(connection.tls && { redisTls: connection.tls }),
    logger,
    kind,
    ...(flags.prefix !== undefined && { prefix: flags.prefix }),
    ...(flags.nodeId !== undefined && { nodeId: flags.nodeId }),
    ...(flags.price !== undefined && {
      pricePerCoreSecond: number('--price', flags.price, 'a price per core-second of 0 or more, e.g. 0.02'),
    }),
    ...(flags.labels !== undefined && { labels: labelsOf(flags.labels) }),
    ...((flags.consent === true || caps) && {
      consent: {
        // A personal machine needs the explicit flag; an operated one consents by running the agent.
        granted: flags.consent === true || kind !== 'personal',
        ...(flags.maxCpu !== undefined && { maxCpuShare: shareOf(flags.maxCpu) }),
        ...(flags.maxMemory !== undefined && {
          maxMemoryMb: number('--max-memory', flags.maxMemory, 'a memory cap in MB above 0, e.g. 2048'),
        }),
        ...(flags.hours !== undefined && { hours: hoursOf(flags.hours) }),
        ...(flags.idleOnly === true && { idleOnly: true }),
      },
    }),
    ...(flags.heartbeatMs !== undefined && { heartbeatMs: integer('--heartbeat-ms', flags.heartbeatMs) }),
    ...(flags.ttlMs !== undefined && { ttlMs: integer('--ttl-ms', flags.ttlMs) }),
    ...(flags.drainTimeoutMs !== undefined && { drainTimeoutMs: integer('--drain-timeout-ms', flags.drainTimeoutMs) }),
    ...(flags.checkpointMs !== undefined && { checkpointMs: integer('--checkpoint-ms', flags.checkpointMs) }),
    ...(flags.cacheDir !== undefined && { cacheDir: flags.cacheDir }),
    ...(flags.trust !== undefined && { trust: flags.trust }),
    ...(flags.allowUnsigned === true && { allowUnsigned: true }),
    ...(flags.sandbox !== undefined && { sandbox: parseSandboxChoice(flags.sandbox, '--sandbox') }),
    ...(flags.allowUnsandboxed === true && { allowUnsandboxed: true }),
  };
}

function kindOf(flags: AgentCommandOptions): NodeKind {
  const kind = flags.kind ?? 'server';
  if (kind !== 'server' && kind !== 'edge' && kind !== 'personal')
    throw new InputError('--kind', `is "${kind}"`, 'use server, edge or personal');
  if (flags.personal === true && kind !== 'personal' && kind !== 'server')
    throw new InputError('--personal', `contradicts --kind ${kind}`, 'give one of them');
  return flags.personal === true ? 'personal' : kind;
}

/** `50%` or `0.5`. */
function shareOf(text: string): number {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  const share = percent ? Number(percent[1]) / 100 : Number(text);
  if (text.trim() === '' || !Number.isFinite(share) || share <= 0 || share > 1) {
    throw new InputError(
      '--max-cpu',
      `is "${text}"`,
      'use a share of the cores above 0 and at most 100%, e.g. 50% or 0.5',
    );
  }
  return share;
}

/** `22-7` or `9-12,14-17`. */
function hoursOf(text: string): HourWindow[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$/.exec(part);
    const from = Number(match?.[1]);
    const to = Number(match?.[2]);
    if (!match || from > 23 || to > 24 || from === to) {
      throw new InputError(
        '--hours',
        `"${part}" is not a window of local hours from-to`,
        'write e.g. 22-7 (from 22:00 to 07:00, across midnight) or 9-12,14-17; hours 0-23, to may be 24, from ≠ to',
      );
    }
    return { from, to };
  });
}

/** `gpu=false,zone=a`. */
function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    if (at <= 0 || key === '')
      throw new InputError('--labels', `"${part}" is not key=value`, 'write e.g. --labels gpu=false,zone=a');
    labels[key] = part.slice(at + 1).trim();
  }
  return labels;
}

function number(flag: string, text: string, fix: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new InputError(flag, `is "${text}"`, `use ${fix}`);
  return value;
}

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new InputError(flag, `is "${text}"`, 'use a whole number of milliseconds, e.g. 1000');
  return Number(text);
}

/** Option and advertisement fields, as the flags that set them. */
const FLAG_OF: Readonly<Record<string, string>> = {
  redis: '--redis',
  prefix: '--prefix',
  kind: '--kind',
  consent: '--consent',
  heartbeatMs: '--heartbeat-ms',
  ttlMs: '--ttl-ms',
  drainTimeoutMs: '--drain-timeout-ms',
  checkpointMs: '--checkpoint-ms',
  trust: '--trust',
  sandbox: '--sandbox',
  'node.nodeId': '--node-id',
  'node.kind': '--kind',
  'node.pricePerCoreSecond': '--price',
  'node.labels': '--labels',
  'node.consent.maxCpuShare': '--max-cpu',
  'node.consent.maxMemoryMb': '--max-memory',
  'node.consent.hours': '--hours',
  'node.consent.idleOnly': '--idle-only',
};

/** The same error, named by the flag a user typed instead of the option or advertisement field. */
function asFlagError(error: InputError): InputError {
  const key = Object.keys(FLAG_OF).find(
    (field) => error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`),
  );
  if (key === undefined) return error;
  const flag = FLAG_OF[key]!;
  const body = error.message.slice(error.field.length + 2);
  if (error.fix === '') return InputError.preformatted(flag, body);
  return new InputError(flag, body.slice(0, body.length - `. Fix: ${error.fix}`.length), error.fix);
}
