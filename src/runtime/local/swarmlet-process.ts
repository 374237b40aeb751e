import { fork, type ChildProcess } from 'node:child_process';
import type { MonitorSample, ToSwarmlet } from './ipc.js';
import { BlackBox } from './black-box.js';
import type { SwarmletCgroup } from './cgroup.js';
import { cpuTimeMs, residentMb } from './outside-usage.js';
import { prefixLines } from './swarmlet-output.js';

/** One forked swarmlet host as its parent sees it; `id` is set when a spare is given its first type. */
export interface SwarmletProcess {
  id: string | undefined;
  readonly process: ChildProcess;
  /** When each pending load was requested: its load time runs from here to `ready`. */
  readonly loadRequestedAtMs: Map<string, number>;
  /** It said `hello` (it is up and reads messages). */
  up: boolean;
  exited: boolean;
  /** Why we killed it, when we did: reported instead of the bare signal. */
  killReason?: string;
  /** Stopped for holding more memory than its limit (measured from outside). */
  memoryKill?: boolean;
  /** A first load whose state is too big for the environment: sent as a `load` message once the host says `hello`. */
  deferredLoad?: Extract<ToSwarmlet, { t: 'load' }>;
  /** Which micro-task it last started: read after a crash so only that one pays an attempt. */
  readonly box: BlackBox;
  /** What its black box said when we killed it: the micro-task that broke a limit or the protocol. */
  runningAtKill?: number | null;
  /** Its kernel-enforced memory limit, where the machine has cgroups. */
  cgroup?: SwarmletCgroup;
  /** The swarmlet's own last report (heap, event-loop delay, task counts); memory and CPU are measured outside. */
  inside?: MonitorSample;
  /** The most resident memory measured from outside, in MB. */
  peakMb: number;
  /** CPU time at the last outside measurement, for the CPU share between two. */
  lastCpu?: { atMs: number; cpuMs: number };
}

export interface ForkOptions {
  readonly hostPath: string;
  readonly boxDir: string;
  readonly boxName: string;
  readonly monitorIntervalMs: number;
  /** The first load, as JSON, given with the fork ('' for a spare that waits for a `load` message). */
  readonly load: string;
  readonly output: (line: string) => void;
}

/**
 * What a swarmlet gets of its parent's environment, by name; nothing else passes. The parent's environment may hold
 * secrets (SWARMLET_REDIS_URL, cloud tokens, proxy credentials) and task code is not the parent's to trust. PATH, so a
 * task finds the programs the agent's user would; TMPDIR, TZ and the locale, so temporary files, dates and text come
 * out as they do in the parent; NODE_EXTRA_CA_CERTS, so HTTPS trusts what the parent trusts. Not HOME: neither Node nor
 * the host needs it (`os.homedir()` still answers from the user database), and the home directory is the owner's.
 */
export const SWARMLET_ENV_PASSED = ['PATH', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'NODE_EXTRA_CA_CERTS'] as const;

function passedEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    SWARMLET_ENV_PASSED.flatMap((name) => (parent[name] === undefined ? [] : [[name, parent[name]]])),
  );
}

/** Forks a swarmlet host; what it prints goes to `output` under its id (or `spare` before it has one). */
export function forkSwarmlet(options: ForkOptions): SwarmletProcess {
  const box = new BlackBox(options.boxDir, options.boxName);
  // execArgv: [] so a parent run through a TS loader does not make every cold start pay for it.
  const child = fork(options.hostPath, [], {
    execArgv: [],
    env: {
      ...passedEnvironment(process.env),
      SWARMLET_MONITOR_MS: String(options.monitorIntervalMs),
      SWARMLET_LOAD: options.load,
      SWARMLET_BLACK_BOX: box.path,
    },
    serialization: 'json',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const record: SwarmletProcess = {
    id: undefined,
    process: child,
    loadRequestedAtMs: new Map(),
    up: false,
    exited: false,
    box,
    peakMb: 0,
  };
  const prefix = () => `swarmlet ${record.id ?? 'spare'}`;
  prefixLines(child.stdout!, prefix, options.output);
  prefixLines(child.stderr!, prefix, options.output);
  child.on('error', () => undefined); // 'exit' follows and reports it
  return record;
}

/**
 * One outside measurement: resident memory (keeping the peak) and the CPU share since the last one.
 * Undefined where /proc cannot be read.
 */
export function measureOutside(
  record: SwarmletProcess,
  nowMs: number,
): { rssMb: number; cpuPercent?: number } | undefined {
  const pid = record.process.pid;
  const rssMb = pid === undefined ? undefined : residentMb(pid);
  if (pid === undefined || rssMb === undefined) return undefined;
  record.peakMb = Math.max(record.peakMb, rssMb);
  const cpuMs = cpuTimeMs(pid);
  const last = record.lastCpu;
  if (cpuMs === undefined) return { rssMb };
  record.lastCpu = { atMs: nowMs, cpuMs };
  if (!last || nowMs <= last.atMs) return { rssMb };
  return { rssMb, cpuPercent: ((cpuMs - last.cpuMs) / (nowMs - last.atMs)) * 100 };
}
