import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { SANDBOX_KINDS, type SandboxKind } from '../../core/sandbox-kinds.js';
export type { SandboxKind } from '../../core/sandbox-kinds.js';
export type { TaskPermission } from '../../core/task-type.js';

/**
 * What holds a swarmlet's task code in (README, Threat model). Every kind runs each swarmlet in its own process group,
 * and its descendants are killed with it.
 * - `process`: Node's permission model: reads only of the swarmlet host and the task bundles, writes only of its black
 *   box, no child processes, no worker threads, no native addons.
 * - `bwrap`: the same inside bubblewrap: a read-only view of the system, a private /tmp, the owners' homes hidden,
 *   its own process namespace (nothing it starts outlives it), and no network unless its task type declares it.
 * - `none`: task code runs as the agent's user with the agent's rights (the owner's own code, embedded).
 */
/** `auto`: bwrap where the machine can run it, else process. */
export type SandboxChoice = SandboxKind | 'auto';
export const SANDBOX_CHOICES = ['auto', ...SANDBOX_KINDS] as const;

/** How swarmlets are launched: the kind, and what their code may read. */
export interface SandboxOptions {
  readonly kind: SandboxKind;
  /** Files and folders task code may read besides the host: task bundles and the packages they import. */
  readonly readPaths: readonly string[];
}

export interface SwarmletLaunch {
  readonly command: string;
  readonly args: readonly string[];
}

let bwrapWorks: boolean | undefined;

/**
 * Whether bubblewrap runs here: installed, and allowed its namespaces (unprivileged user namespaces, or root). Probed
 * once, by running the same kind of sandbox a swarmlet gets.
 */
export function bwrapAvailable(): boolean {
  if (bwrapWorks === undefined) {
    const probe = spawnSync('bwrap', [...bwrapIsolation(false), ...systemView(), 'true'], {
      stdio: 'ignore',
      timeout: 5_000,
    });
    bwrapWorks = probe.status === 0;
  }
  return bwrapWorks;
}

/** The sandbox a choice means on this machine; `bwrap` where bubblewrap cannot run is refused with the fix. */
export function resolveSandbox(choice: SandboxChoice, field = '--sandbox'): SandboxKind {
  if (choice === 'auto') return bwrapAvailable() ? 'bwrap' : 'process';
  if (choice === 'bwrap' && !bwrapAvailable())
    throw new InputError(
      field,
      'is bwrap, but bubblewrap cannot run here (not installed: apt-get install bubblewrap; or user namespaces are off)',
      `${field} process`,
    );
  return choice;
}

/** Reads an option's value as a sandbox choice, or refuses it naming the choices. */
export function parseSandboxChoice(value: unknown, field = '--sandbox'): SandboxChoice {
  if (typeof value === 'string' && (SANDBOX_CHOICES as readonly string[]).includes(value))
    return value as SandboxChoice;
  throw new InputError(
    field,
    `= ${JSON.stringify(value)}, must be one of ${SANDBOX_CHOICES.join(', ')}`,
    `${field} auto`,
  );
}

/**
 * The command that starts one swarmlet host under `sandbox`. `writePath` is its black box, the one file it writes;
 * `network` only matters to bwrap (the permission model of Node 20 has no network rule).
 */
export function swarmletLaunch(
  sandbox: SandboxOptions,
  hostPath: string,
  writePath: string,
  network: boolean,
): SwarmletLaunch {
  const readPaths = [dirname(hostPath), ...sandbox.readPaths.map((path) => resolve(path))];
  const node = [
    '--experimental-permission',
    '--disable-warning=ExperimentalWarning',
    ...[...readPaths, writePath].map((path) => `--allow-fs-read=${path}`),
    `--allow-fs-write=${writePath}`,
    hostPath,
  ];
  if (sandbox.kind !== 'bwrap') return { command: process.execPath, args: node };
  // Paths that do not exist yet cannot be bound (and hold nothing to read).
  const visible = [dirname(process.execPath), ...readPaths]
    .filter((path) => existsSync(path))
    .flatMap((path) => ['--ro-bind', path, path]);
  return {
    command: 'bwrap',
    args: [
      ...bwrapIsolation(network),
      ...systemView(),
      ...visible,
      '--bind',
      dirname(writePath),
      dirname(writePath),
      '--chdir', // bwrap also sets PWD to it: the one variable it adds
      '/tmp',
      process.execPath,
      ...node,
    ],
  };
}

/** Namespaces and lifetime: its own processes, no way to reach a terminal, gone with its parent. */
function bwrapIsolation(network: boolean): string[] {
  return [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--new-session',
  ];
}

/**
 * The file system it sees: the system read-only, a fresh /dev and /proc, a private /tmp, and the homes hidden (the
 * paths it must read are bound back over them, read-only, by the caller).
 */
function systemView(): string[] {
  const homes = [...new Set(['/root', '/home', homedir()])].filter((path) => existsSync(path));
  return [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
    ...homes.flatMap((path) => ['--tmpfs', path]),
  ];
}

/** Every `node_modules` folder from `dir` up: where the packages a task bundle imports are found. */
export function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) found.push(join(at, 'node_modules'));
    if (dirname(at) === at) return found;
  }
}
