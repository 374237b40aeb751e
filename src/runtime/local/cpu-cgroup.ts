import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, type Environment } from '../../core/environment.js';
import { wallEnvironment } from './wall-environment.js';
import { cgroupsDisabled, readText, sweepStaleGroups, tryRmdir } from './cgroup.js';

/**
 * The node's CPU cap held by the kernel: one CPU cgroup per provider, `<own cgroup>/swarmlet-<pid>/caps-<n>`, whose
 * CFS bandwidth quota is the cap's cores × the period (v1 `cpu.cfs_quota_us`, v2 `cpu.max`). Every process a swarmlet
 * starts, detached or not, stays in its group: the quota holds over all of them together. Where the machine gives us
 * no writable CPU controller, the provider throttles from outside instead (cap-watch.ts).
 */
export type CpuEnforcement = 'cgroup-v1' | 'cgroup-v2' | 'sigstop-throttle';

interface CpuLayout {
  readonly kind: 'cgroup-v1' | 'cgroup-v2';
  /** Our own cgroup's directory in the hierarchy that has the CPU controller. */
  readonly ownDir: string;
}

/** The shortest quota the kernel takes (1 ms a period). */
const MIN_QUOTA_US = 1_000;

/** Finds where this process's CPU cgroup lives; undefined where there is none we can see. */
export function detectCpuLayout(root = '/sys/fs/cgroup', selfCgroup = '/proc/self/cgroup'): CpuLayout | undefined {
  let lines: string[];
  try {
    lines = readFileSync(selfCgroup, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  // v1 mounts `cpu` alone or together with cpuacct (`cpu,cpuacct`, with a `cpu` link to it).
  const v1 = lines.map((line) => line.split(':')).find((parts) => parts[1]?.split(',').includes('cpu'));
  if (v1 && existsSync(join(root, 'cpu', 'cpu.cfs_quota_us')))
    return { kind: 'cgroup-v1', ownDir: join(root, 'cpu', v1[2] ?? '/') };
  const v2 = lines.find((line) => line.startsWith('0::'));
  if (v2 && readText(join(root, 'cgroup.controllers'))?.split(/\s+/).includes('cpu'))
    return { kind: 'cgroup-v2', ownDir: join(root, v2.slice(3)) };
  return undefined;
}

/** A provider's CPU cap group. */
export class CpuCapCgroup {
  private constructor(
    readonly kind: 'cgroup-v1' | 'cgroup-v2',
    private readonly dir: string,
    /** The quota it was given, in cores. */
    readonly cores: number,
  ) {}

  /** The file a process writes its pid to, to join (a launcher that joins before it starts the swarmlet). */
  get procsFile(): string {
    return join(this.dir, 'cgroup.procs');
  }

  /** Makes the group `name` with a quota of `cores`; undefined when the machine refuses (then it is held outside). */
  static open(cores: number, name: string, layout = detectCpuLayout()): CpuCapCgroup | undefined {
    if (!layout || cgroupsDisabled()) return undefined;
    sweepStaleGroups(layout.ownDir);
    const processDir = join(layout.ownDir, `swarmlet-${process.pid}`);
    const dir = join(processDir, name);
    try {
      mkdirSync(dir, { recursive: true });
      if (layout.kind === 'cgroup-v1') {
        const periodUs = Number(readText(join(dir, 'cpu.cfs_period_us')) ?? 100_000);
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs(cores, periodUs)));
      } else {
        // v2 hands controllers down explicitly: the group's cpu.max exists once its parent enables `cpu` below it.
        writeFileSync(join(processDir, 'cgroup.subtree_control'), '+cpu');
        const periodUs = 100_000;
        writeFileSync(join(dir, 'cpu.max'), `${quotaUs(cores, periodUs)} ${periodUs}`);
      }
      return new CpuCapCgroup(layout.kind, dir, cores);
    } catch {
      tryRmdir(dir);
      tryRmdir(processDir);
      return undefined;
    }
  }

  /** Puts a process (a swarmlet, right after its fork) under the quota; throws when the kernel refuses. */
  add(pid: number): void {
    writeFileSync(this.procsFile, String(pid));
  }

  /** How long the kernel held the group back in all, in ms (undefined where it does not say). */
  throttledMs(): number | undefined {
    const stat = readText(join(this.dir, 'cpu.stat'));
    const v1 = /^throttled_time (\d+)/m.exec(stat ?? '')?.[1];
    if (v1 !== undefined) return Number(v1) / 1e6;
    const v2 = /^throttled_usec (\d+)/m.exec(stat ?? '')?.[1];
    return v2 === undefined ? undefined : Number(v2) / 1e3;
  }

  /**
   * Removes the group once its processes are gone (and `swarmlet-<pid>` when nothing else is in it). The kernel lets go
   * of a process that exited a moment after its parent saw the exit (longer for one inside bwrap's namespace), so the
   * removal is tried for up to `timeoutMs`; a group still there is swept by the next agent or swarm to start. The
   * retries keep the process alive: a close is often the last thing it does.
   */
  async close(environment: Environment = wallEnvironment, timeoutMs = 1_000): Promise<void> {
    const { clock, timers } = environment;
    for (const deadline = clock.nowMs() + timeoutMs; ; await sleep(timers, 20, { keepAlive: true })) {
      tryRmdir(this.dir);
      if (!existsSync(this.dir) || clock.nowMs() > deadline) break;
    }
    tryRmdir(join(this.dir, '..'));
  }
}

function quotaUs(cores: number, periodUs: number): number {
  return Math.max(MIN_QUOTA_US, Math.round(cores * periodUs));
}
