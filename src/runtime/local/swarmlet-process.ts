import { spawn, type ChildProcess } from 'node:child_process';
import type { MonitorSample, ToSwarmlet } from './ipc.js';
import { BlackBox } from './black-box.js';
import type { SwarmletCgroup } from './cgroup.js';
import { processTree, treeCpuTimeMs, treeResidentMb } from './outside-usage.js';
import { eachLine } from './swarmlet-output.js';
import { swarmletLaunch, type SandboxOptions } from './sandbox.js';

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
  /** It may reach the network (a sandbox without it cannot be widened: see ProcessProvider.withNetwork). */
  network?: boolean;
  /** Each task type it was asked to load, with its module: what a replacement loads again. */
  readonly loads: Map<string, string>;
  /** Types loaded again in a replacement, whose `ready` was told already. */
  readonly silentReady: Set<string>;
  /** The process that took its place under its id; its exit is not news. */
  replacedBy?: SwarmletProcess;
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
  /** Each line it prints once it has an id, as printed (a micro-task's start with its `[label] `), to be kept. */
  readonly printed?: (swarmletId: string, line: string) => void;
  /** Where its task code is held in (sandbox.ts); undefined: no sandbox. */
  readonly sandbox?: SandboxOptions;
  /** May reach the network (bwrap only: without it the swarmlet has no network namespace but its own). */
  readonly network: boolean;
  /**
   * `cgroup.procs` files it joins before its code starts, for a sandbox whose launcher forks at once (bwrap):
   * joining after the spawn would leave what it forked outside its limits.
   */
  readonly joinCgroups?: readonly string[];
}

/**
 * What a swarmlet gets of its parent's environment, by name; nothing else passes. The parent's environment may hold
 * secrets (SWARMLET_REDIS_URL, cloud tokens, proxy credentials) and task code is not the parent's to trust. PATH, so a
 * task finds the programs the agent's user would; TMPDIR, TZ and the locale, so temporary files, dates and text come
 * out as they do in the parent; NODE_EXTRA_CA_CERTS, so HTTPS trusts what the parent trusts. Not HOME: neither Node nor
 * the host needs it (`os.homedir()` still answers from the user database), and the home directory is the owner's.
 */
export const SWARMLET_ENV_PASSED = ['PATH', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'NODE_EXTRA_CA_CERTS'] as const;

/** The shell joins its cgroups, forgets where they are, then becomes the launcher (same pid, same group). */
const JOIN_THEN_EXEC =
  'for f in $SWARMLET_JOIN; do echo $$ > "$f" || exit 125; done; e=$SWARMLET_EXEC; ' +
  'unset SWARMLET_JOIN SWARMLET_EXEC; exec "$e" "$@"';

function passedEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    SWARMLET_ENV_PASSED.flatMap((name) => (parent[name] === undefined ? [] : [[name, parent[name]]])),
  );
}

/**
 * Starts a swarmlet host, with its JSON IPC channel, in a process group of its own (its descendants are killed with
 * it); what it prints goes to `output` under its id (or `spare` before it has one).
 */
export function forkSwarmlet(options: ForkOptions): SwarmletProcess {
  const box = new BlackBox(options.boxDir, options.boxName);
  const sandboxed =
    options.sandbox && options.sandbox.kind !== 'none'
      ? swarmletLaunch(options.sandbox, options.hostPath, box.path, options.network)
      : undefined;
  // No execArgv: a parent run through a TS loader must not make every cold start pay for it.
  const launch = sandboxed ?? { command: process.execPath, args: [options.hostPath] };
  const joins = options.joinCgroups ?? [];
  const [command, args] =
    joins.length === 0 ? [launch.command, launch.args] : ['/bin/sh', ['-c', JOIN_THEN_EXEC, 'sh', ...launch.args]];
  const child = spawn(command, args, {
    env: {
      ...passedEnvironment(process.env),
      SWARMLET_MONITOR_MS: String(options.monitorIntervalMs),
      SWARMLET_LOAD: options.load,
      SWARMLET_BLACK_BOX: box.path,
      // So a refused connection says why (in its own network namespace nothing answers, and nothing can be reached).
      ...(sandboxed && options.sandbox?.kind === 'bwrap' && !options.network && { SWARMLET_NO_NETWORK: '1' }),
      ...(joins.length > 0 && { SWARMLET_JOIN: joins.join(' '), SWARMLET_EXEC: launch.command }),
    },
    serialization: 'json',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  const record: SwarmletProcess = {
    id: undefined,
    process: child,
    loadRequestedAtMs: new Map(),
    up: false,
    exited: false,
    box,
    peakMb: 0,
    loads: new Map(),
    silentReady: new Set(),
  };
  const prefix = () => `swarmlet ${record.id ?? 'spare'}`;
  const each = (line: string) => {
    options.output(`${prefix()}: ${line}`);
    if (record.id !== undefined) options.printed?.(record.id, line);
  };
  eachLine(child.stdout!, each);
  eachLine(child.stderr!, each);
  child.on('error', () => undefined); // 'exit' follows and reports it
  return record;
}

/**
 * Kills a swarmlet with everything it started: its descendants while it lives (one that left its process group with
 * setsid is still its child), its process group (it leads one), itself, and whatever its cgroup still holds. Under
 * bwrap, its process namespace goes with it.
 */
export function killSwarmlet(record: SwarmletProcess): void {
  const pid = record.process.pid;
  if (pid === undefined) return;
  const descendants = record.exited ? [] : processTree(pid).slice(1);
  for (const target of [-pid, ...descendants]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  if (!record.exited) record.process.kill('SIGKILL');
  record.cgroup?.killAll();
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
  const rssMb = pid === undefined ? undefined : treeResidentMb(pid);
  if (pid === undefined || rssMb === undefined) return undefined;
  record.peakMb = Math.max(record.peakMb, rssMb);
  const cpuMs = treeCpuTimeMs(pid);
  const last = record.lastCpu;
  if (cpuMs === undefined) return { rssMb };
  record.lastCpu = { atMs: nowMs, cpuMs };
  if (!last || nowMs <= last.atMs) return { rssMb };
  return { rssMb, cpuPercent: ((cpuMs - last.cpuMs) / (nowMs - last.atMs)) * 100 };
}
