/**
 * The agent's options, checked once at the edge (STYLE.md §9), and what it advertises about its
 * machine: the probe (capacity, price, labels, consent) plus live status (idle, warm types, in use).
 * Also the local consent rules the agent enforces whatever the director asks: how many swarmlets
 * it may run, and whether it may work at all right now.
 */
import type { Environment } from '../../core/environment.js';
import { epochEnvironment } from '../local/wall-environment.js';
import type { Clock } from '../../core/clock.js';
import { availableParallelism, freemem, hostname, loadavg } from 'node:os';
import { InputError } from '../../core/errors.js';
import { silentLogger, withFields, type Logger } from '../../core/logger.js';
import { redactUrl } from '../../core/redact-url.js';
import { consentAllowsWork, consentLimits, type ConsentVerdict } from '../../place/consent.js';
import {
  NODE_KINDS,
  parseNodeAdvertisement,
  type HourWindow,
  type NodeAdvertisement,
  type NodeAdvertisementInput,
  type NodeKind,
} from '../../place/node-probe.js';
import type { BundleTrust } from './bundle-signing.js';
import { DEFAULT_PREFIX } from './protocol.js';
import type { RedisTls } from './redis-connect.js';
import { resolveTrust } from './signing-keys.js';
import { parseSandboxChoice, resolveSandbox, type SandboxChoice, type SandboxKind } from '../local/sandbox.js';

export interface AgentConsentOptions {
  /** The owner said yes. Personal machines refuse to start without it. */
  readonly granted: boolean;
  /** Share of the machine's cores, 0..1 (the CLI's `--max-cpu 50%`). */
  readonly maxCpuShare?: number;
  readonly maxMemoryMb?: number;
  /** Local hours [from, to), e.g. [{ from: 22, to: 7 }]; absent: any hour. */
  readonly hours?: readonly HourWindow[];
  /** Work only while the machine is idle (see `IDLE_LOAD_PER_CORE`). */
  readonly idleOnly?: boolean;
}

export interface ClusterAgentOptions {
  /** `redis://host:port/db`. */
  readonly redisUrl: string;
  /** For a `rediss://` URL: the CA, and this client's certificate and key (PEM text). */
  readonly redisTls?: RedisTls;
  /** Key prefix shared with the director. Default `swarmlet`. */
  readonly prefix?: string;
  /** Default `${hostname}-${pid}`. */
  readonly nodeId?: string;
  /** Default `server`. */
  readonly kind?: NodeKind;
  /** Default 0. */
  readonly pricePerCoreSecond?: number;
  readonly labels?: Readonly<Record<string, string>>;
  /** Absent: servers and edge nodes consent by being operated; personal machines refuse to start. */
  readonly consent?: AgentConsentOptions;
  /** How often the heartbeat is written (and the desired state re-read). Default 1000. */
  readonly heartbeatMs?: number;
  /** How long the heartbeat key (and each lease lock) lives without renewal. Default 3000. */
  readonly ttlMs?: number;
  /** Where module bundles from Redis are written (`<cacheDir>/cluster/<hash>.mjs`). Default `.swarmlet/cache`. */
  readonly cacheDir?: string;
  /**
   * How long a swarmlet that is no longer wanted may finish its in-flight work before the rest is requeued. Default 10
   * 000.
   */
  readonly drainTimeoutMs?: number;
  /**
   * How often serving stateful swarmlets that ran micro-tasks since their last save write their
   * state to Redis while they keep working, so a node killed outright loses at most this much of
   * it. 0: only when a swarmlet leaves its type. Default 30 000.
   */
  readonly checkpointMs?: number;
  /** How often idle swarmlets look for queued work (queues fill from the director asynchronously). Default 25. */
  readonly pollMs?: number;
  /** Capacity overrides (defaults: os.availableParallelism(), free memory at start). */
  readonly cpu?: number;
  readonly memoryMb?: number;
  /** The 1-minute load average per core (tests pass their own). */
  readonly loadPerCore?: () => number;
  /** One event per change (started, specialized, stopping, exited, consent...), each with its ids. Default: none. */
  readonly logger?: Logger;
  /** A warning repeated under one topic (a bad key read every heartbeat) is said once per this interval (30 000). */
  readonly warningIntervalMs?: number;
  /** Time for the warning limiter (tests pass a virtual one). Default: the wall clock. */
  readonly clock?: Clock;
  /** Where the agent's time and timers come from. Default: the epoch clock and Node's timers. */
  readonly environment?: Environment;
  /**
   * Public key files (PEM, `swarmlet keys new`): the agent runs only bundles signed by one of them. Required unless
   * `allowUnsigned`.
   */
  readonly trust?: readonly string[];
  /** Also run unsigned bundles (anyone who can write to the Redis then runs code here). Default false. */
  readonly allowUnsigned?: boolean;
  /** What holds task code in (runtime/local/sandbox.ts). Default: `auto` on personal machines, `none` elsewhere. */
  readonly sandbox?: SandboxChoice;
  /** A personal machine may run without a sandbox only with this (the owner accepts task code with their rights). */
  readonly allowUnsandboxed?: boolean;
}

/** Options with every default filled in, checked. */
export interface AgentConfig {
  readonly redisUrl: string;
  /** For a `rediss://` URL: the CA, and this client's certificate and key (PEM text). */
  readonly redisTls?: RedisTls;
  readonly prefix: string;
  readonly nodeId: string;
  readonly kind: NodeKind;
  readonly pricePerCoreSecond: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly consent: AgentConsentOptions | undefined;
  readonly heartbeatMs: number;
  readonly ttlMs: number;
  readonly cacheDir: string;
  readonly drainTimeoutMs: number;
  readonly checkpointMs: number;
  readonly pollMs: number;
  readonly cpu: number;
  readonly memoryMb: number;
  readonly loadPerCore: () => number;
  /** Every event carries this node's id. */
  readonly logger: Logger;
  readonly warningIntervalMs: number;
  readonly clock: Clock;
  readonly environment: Environment;
  readonly trust: BundleTrust;
  readonly sandbox: SandboxKind;
}

/**
 * Idle detection, kept simple on purpose: the machine is idle while the 1-minute load average per
 * core is below this. It counts every process, our swarmlets included, so an idle-only node that
 * gets busy with our own work stops (requeueing it) once its load passes the threshold, and starts
 * again when it drops: a slow on/off cycle of about a minute, which is what "only while idle" means.
 * (On Windows the load average is always 0: every machine looks idle.)
 */
export const IDLE_LOAD_PER_CORE = 0.5;
/** Memory assumed per swarmlet before any has reported its resident size (an idle child is ~43 MB). */
export const DEFAULT_SWARMLET_MEMORY_MB = 60;
export const PERSONAL_WITHOUT_CONSENT =
  'personal machines join only with explicit consent: add --consent (and caps such as --max-cpu 50%)';

export function resolveAgentConfig(options: ClusterAgentOptions): AgentConfig {
  const kind = options.kind ?? 'server';
  if (!NODE_KINDS.includes(kind))
    throw new InputError('kind', `is ${JSON.stringify(kind)}`, "use 'server', 'edge' or 'personal'");
  if (kind === 'personal' && options.consent?.granted !== true)
    throw InputError.preformatted('consent', PERSONAL_WITHOUT_CONSENT);
  if (typeof options.redisUrl !== 'string' || !/^rediss?:\/\//.test(options.redisUrl)) {
    throw new InputError(
      'redis',
      `is ${JSON.stringify(typeof options.redisUrl === 'string' ? redactUrl(options.redisUrl) : options.redisUrl)}`,
      'give the Redis URL the director uses, e.g. redis://127.0.0.1:6379',
    );
  }
  const heartbeatMs = integerAtLeast('heartbeatMs', options.heartbeatMs ?? 1_000, 10, 'e.g. 1000');
  const ttlMs = integerAtLeast('ttlMs', options.ttlMs ?? 3_000, 10, 'e.g. 3000');
  if (ttlMs <= heartbeatMs)
    throw new InputError(
      'ttlMs',
      `= ${ttlMs}, not above heartbeatMs = ${heartbeatMs}`,
      'use a TTL of at least twice the heartbeat (e.g. 3000 with 1000), so one late beat does not declare the node dead',
    );
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}`;
  if (prefix.length === 0 || prefix.includes(' '))
    throw new InputError('prefix', `is ${JSON.stringify(prefix)}`, "use the director's prefix (default swarmlet)");
  return {
    redisUrl: options.redisUrl,
    ...(options.redisTls !== undefined && { redisTls: options.redisTls }),
    prefix,
    kind,
    nodeId,
    pricePerCoreSecond: options.pricePerCoreSecond ?? 0,
    labels: options.labels ?? {},
    consent: options.consent,
    heartbeatMs,
    ttlMs,
    cacheDir: options.cacheDir ?? '.swarmlet/cache',
    drainTimeoutMs: integerAtLeast('drainTimeoutMs', options.drainTimeoutMs ?? 10_000, 0, 'e.g. 10000'),
    checkpointMs: integerAtLeast(
      'checkpointMs',
      options.checkpointMs ?? 30_000,
      0,
      'e.g. 30000 (0: save only when a swarmlet leaves its type)',
    ),
    pollMs: integerAtLeast('pollMs', options.pollMs ?? 25, 1, 'e.g. 25'),
    cpu: options.cpu ?? availableParallelism(),
    memoryMb: options.memoryMb ?? Math.floor(freemem() / 2 ** 20),
    loadPerCore: options.loadPerCore ?? (() => (loadavg()[0] ?? 0) / availableParallelism()),
    logger: withFields(options.logger ?? silentLogger, { nodeId }),
    warningIntervalMs: integerAtLeast('warningIntervalMs', options.warningIntervalMs ?? 30_000, 1, 'e.g. 30000'),
    clock: options.clock ?? (options.environment ?? epochEnvironment).clock,
    environment: options.environment ?? epochEnvironment,
    trust: resolveTrust(options.trust ?? [], options.allowUnsigned === true),
    sandbox: agentSandbox(kind, options),
  };
}

/**
 * The sandbox of an agent's swarmlets: personal machines always have one (`auto` picks the strongest the machine
 * runs) unless the owner explicitly allows none.
 */
function agentSandbox(kind: NodeKind, options: ClusterAgentOptions): SandboxKind {
  const refused = (error: unknown, fix: SandboxChoice) =>
    error instanceof InputError
      ? new InputError('sandbox', error.message.slice('sandbox: '.length).split('. Fix: ')[0]!, `--sandbox ${fix}`, {
          value: fix,
        })
      : error;
  let choice: SandboxChoice;
  let sandbox: SandboxKind;
  try {
    choice = parseSandboxChoice(options.sandbox ?? (kind === 'personal' ? 'auto' : 'none'), 'sandbox');
  } catch (error) {
    throw refused(error, 'auto');
  }
  try {
    sandbox = resolveSandbox(choice, 'sandbox');
  } catch (error) {
    throw refused(error, 'process'); // bwrap where it cannot run
  }
  if (kind === 'personal' && sandbox === 'none' && options.allowUnsandboxed !== true)
    throw new InputError(
      'sandbox',
      "is none on a personal machine: task code would run with the owner's rights",
      '--sandbox auto (or add --allow-unsandboxed if the owner accepts that)',
      { value: 'auto' },
    );
  return sandbox;
}

/** What changes between heartbeats. */
export interface AgentLiveState {
  readonly consentGranted: boolean;
  readonly idle: boolean;
  readonly warmTaskTypes: readonly string[];
  readonly inUse: { readonly cpu: number; readonly memoryMb: number };
  readonly utcOffsetMinutes: number;
}

/**
 * The raw advertisement (what the heartbeat carries) and its parsed form; a bad one is an InputError naming the field.
 */
export function buildAdvertisement(
  config: AgentConfig,
  live: AgentLiveState,
): { raw: NodeAdvertisementInput; parsed: NodeAdvertisement } {
  const { consent } = config;
  const raw: NodeAdvertisementInput = {
    nodeId: config.nodeId,
    kind: config.kind,
    capacity: { cpu: config.cpu, memoryMb: config.memoryMb },
    inUse: { cpu: live.inUse.cpu, memoryMb: live.inUse.memoryMb },
    pricePerCoreSecond: config.pricePerCoreSecond,
    labels: { ...config.labels },
    idle: live.idle,
    utcOffsetMinutes: live.utcOffsetMinutes,
    warmTaskTypes: [...live.warmTaskTypes],
    sandbox: config.sandbox,
    ...((consent !== undefined || !live.consentGranted) && {
      consent: {
        granted: live.consentGranted && (consent?.granted ?? true),
        ...(consent?.maxCpuShare !== undefined && { maxCpuShare: consent.maxCpuShare }),
        ...(consent?.maxMemoryMb !== undefined && { maxMemoryMb: consent.maxMemoryMb }),
        ...(consent?.hours !== undefined && { hours: consent.hours.map((window) => ({ ...window })) }),
        ...(consent?.idleOnly !== undefined && { idleOnly: consent.idleOnly }),
      },
    }),
  };
  const result = parseNodeAdvertisement(raw);
  if (!result.ok) throw result.error;
  return { raw, parsed: result.value };
}

export function machineIdle(loadPerCore: number): boolean {
  return loadPerCore < IDLE_LOAD_PER_CORE;
}

/** The owner's offset from UTC at `nowMs` (changes with daylight saving time): the machine's time zone, not a clock. */
export function utcOffsetMinutesAt(nowMs: number): number {
  // eslint-disable-next-line no-restricted-globals -- Date here is the time-zone table, the time is given
  return -new Date(nowMs).getTimezoneOffset();
}

/**
 * May this node run anything now (consent granted, inside the hours, idle when idle-only)? Work
 * cut off by the hours window is the director's concern (it plans with durations); locally the
 * window is either open or closed.
 */
export function workAllowed(advertisement: NodeAdvertisement, nowMs: number): ConsentVerdict {
  return consentAllowsWork(advertisement, nowMs, 0);
}

/**
 * The most swarmlets consent allows at once: one core each, floor(cores × maxCpuShare) (at least 1
 * when the share is above 0), and as many as fit in the memory cap at `swarmletMemoryMb` each.
 */
export function swarmletCap(
  advertisement: NodeAdvertisement,
  swarmletMemoryMb: number,
): { readonly count: number; readonly limit: string } {
  const { consent, capacity } = advertisement;
  const byCpu = consent.maxCpuShare > 0 ? Math.max(1, Math.floor(capacity.cpu * consent.maxCpuShare)) : 0;
  const memoryMb = consentLimits(advertisement).memoryMb;
  const byMemory = Math.floor(memoryMb / Math.max(1, swarmletMemoryMb));
  if (byMemory < byCpu)
    return {
      count: byMemory,
      limit: `memory cap ${Math.round(memoryMb)} MB at ~${Math.round(swarmletMemoryMb)} MB a swarmlet`,
    };
  return { count: byCpu, limit: `CPU cap ${consent.maxCpuShare} of ${capacity.cpu} cores` };
}

/**
 * The consent caps the agent's swarmlets are held to on what they really use, all together (provider-caps.ts): cores
 * = maxCpuShare × the node's cores (none at a share of 1: the machine is the cap), and maxMemoryMb.
 */
export function consentCaps(config: Pick<AgentConfig, 'consent' | 'cpu'>): { cpuCores?: number; memoryMb?: number } {
  const share = config.consent?.maxCpuShare;
  const memoryMb = config.consent?.maxMemoryMb;
  return {
    ...(share !== undefined && share < 1 && { cpuCores: share * config.cpu }),
    ...(memoryMb !== undefined && { memoryMb }),
  };
}

/** One line about the node for the agent's log: kind, capacity, price, consent caps. */
export function describeNode(advertisement: NodeAdvertisement): string {
  const { consent, capacity } = advertisement;
  const caps = [
    ...(consent.maxCpuShare < 1 ? [`cpu ${Math.round(consent.maxCpuShare * 100)}%`] : []),
    ...(consent.maxMemoryMb !== undefined ? [`memory ${consent.maxMemoryMb} MB`] : []),
    ...(consent.hours !== undefined
      ? [`hours ${consent.hours.map((window) => `${window.from}-${window.to}`).join(',')}`]
      : []),
    ...(consent.idleOnly ? ['idle only'] : []),
  ];
  return (
    `${advertisement.kind}, ${capacity.cpu} cores, ${Math.round(capacity.memoryMb)} MB, ${advertisement.pricePerCoreSecond} per core-second, sandbox ${advertisement.sandbox}` +
    `${consent.granted ? '' : ', no consent'}${caps.length > 0 ? `, consent caps: ${caps.join(', ')}` : ''}`
  );
}

function integerAtLeast(field: string, value: number, min: number, example: string): number {
  if (!Number.isInteger(value) || value < min)
    throw new InputError(field, `= ${value}, must be an integer ≥ ${min}`, example);
  return value;
}
