import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './black-box.js';

/**
 * Kernel-enforced memory limits for swarmlets: one memory cgroup per swarmlet under this process's
 * own cgroup, where the machine lets us create one (root, or a delegated subtree). v1 (`memory.limit_in_bytes`,
 * as on these machines) and v2 (`memory.max`) are detected at start; anywhere else the caller falls
 * back to measuring from outside (/proc) and killing.
 */
export type MemoryEnforcement = 'cgroup-v1' | 'cgroup-v2' | 'proc-sampling';

interface Layout {
  readonly kind: 'cgroup-v1' | 'cgroup-v2';
  /** Our own cgroup's directory in the memory hierarchy. */
  readonly ownDir: string;
  readonly limitFile: string;
  readonly swapFile: string | undefined;
}

const MB = 2 ** 20;

/** Finds where this process's memory cgroup lives; undefined where there is none we can see. */
export function detectLayout(root = '/sys/fs/cgroup', selfCgroup = '/proc/self/cgroup'): Layout | undefined {
  let lines: string[];
  try {
    lines = readFileSync(selfCgroup, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const v1 = lines.map((line) => line.split(':')).find((parts) => parts[1]?.split(',').includes('memory'));
  if (v1 && existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) {
    const ownDir = join(root, 'memory', v1[2] ?? '/');
    const swap = join(ownDir, 'memory.memsw.limit_in_bytes');
    return {
      kind: 'cgroup-v1',
      ownDir,
      limitFile: 'memory.limit_in_bytes',
      swapFile: existsSync(swap) ? 'memory.memsw.limit_in_bytes' : undefined,
    };
  }
  const v2 = lines.find((line) => line.startsWith('0::'));
  if (v2 && readText(join(root, 'cgroup.controllers'))?.split(/\s+/).includes('memory')) {
    return { kind: 'cgroup-v2', ownDir: join(root, v2.slice(3)), limitFile: 'memory.max', swapFile: 'memory.swap.max' };
  }
  return undefined;
}

/** One swarmlet's memory cgroup. */
export interface SwarmletCgroup {
  /** Puts a process (the swarmlet, right after its fork) under the limit. */
  add(pid: number): void;
  /** The file a process writes its pid to, to join (a launcher that joins before it starts the swarmlet). */
  readonly procsFile: string;
  /** Kills every process in the group: what a swarmlet started cannot escape by leaving its process group. */
  killAll(): void;
  /** How many times the kernel killed a process of this group for going over the limit. */
  oomKills(): number;
  /** How many times the group's use reached its limit (the kernel then reclaims, stalls or kills). */
  limitHits(): number;
  /** The most memory the group ever held, in MB (undefined where the kernel does not keep it). */
  peakMb(): number | undefined;
  /** Removes the group (its process must have exited). */
  remove(): void;
}

/** Creates per-swarmlet memory cgroups under `<own cgroup>/swarmlet-<pid>`; `undefined` where not allowed. */
export class MemoryCgroups {
  private constructor(
    private readonly layout: Layout,
    private readonly parentDir: string,
  ) {}

  get kind(): MemoryEnforcement {
    return this.layout.kind;
  }

  /** Tries to set up a parent group for this process's swarmlets; undefined when the machine refuses. */
  static open(layout = detectLayout()): MemoryCgroups | undefined {
    // SWARMLET_NO_CGROUPS=1: measure from outside even where cgroups work (to compare, or test the fallback).
    if (!layout || process.env.SWARMLET_NO_CGROUPS === '1') return undefined;
    sweepStale(layout.ownDir);
    const parentDir = join(layout.ownDir, `swarmlet-${process.pid}`);
    try {
      mkdirSync(parentDir, { recursive: true });
      // v2 hands controllers down explicitly; in v1 the child groups inherit the hierarchy.
      if (layout.kind === 'cgroup-v2') writeFileSync(join(parentDir, 'cgroup.subtree_control'), '+memory');
      const probe = new MemoryCgroups(layout, parentDir).create('probe', 64);
      probe.remove();
      return new MemoryCgroups(layout, parentDir);
    } catch {
      tryRmdir(parentDir);
      return undefined;
    }
  }

  /** A group holding at most `limitMb` of memory (and no swap beyond it). Throws when the kernel refuses. */
  create(name: string, limitMb: number): SwarmletCgroup {
    const dir = join(this.parentDir, name);
    mkdirSync(dir, { recursive: true });
    const bytes = String(Math.floor(limitMb * MB));
    writeFileSync(join(dir, this.layout.limitFile), bytes);
    if (this.layout.swapFile !== undefined) {
      // v1's memsw counts memory + swap; v2's swap.max counts swap alone.
      const swap = this.layout.kind === 'cgroup-v1' ? bytes : '0';
      writeText(join(dir, this.layout.swapFile), swap);
    }
    const eventsFile = this.layout.kind === 'cgroup-v1' ? 'memory.oom_control' : 'memory.events';
    const procsFile = join(dir, 'cgroup.procs');
    return {
      add: (pid) => writeFileSync(procsFile, String(pid)),
      procsFile,
      killAll: () => {
        for (const pid of (readText(procsFile) ?? '').split('\n').filter((line) => line !== '')) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
      },
      oomKills: () => Number(/oom_kill (\d+)/.exec(readText(join(dir, eventsFile)) ?? '')?.[1] ?? 0),
      limitHits: () =>
        this.layout.kind === 'cgroup-v1'
          ? Number(readText(join(dir, 'memory.failcnt')) ?? 0)
          : Number(/^max (\d+)/m.exec(readText(join(dir, 'memory.events')) ?? '')?.[1] ?? 0),
      peakMb: () => {
        const peak = readText(
          join(dir, this.layout.kind === 'cgroup-v1' ? 'memory.max_usage_in_bytes' : 'memory.peak'),
        );
        return peak === undefined ? undefined : Number(peak) / MB;
      },
      remove: () => tryRmdir(dir),
    };
  }

  /** Removes the parent group once every swarmlet's group is gone. */
  close(): void {
    // Groups of another swarm in this process still hold their processes: only empty ones go.
    const children = readdirSync(this.parentDir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    for (const child of children) tryRmdir(join(this.parentDir, child.name));
    tryRmdir(this.parentDir);
  }
}

/** Groups left by processes that are gone (killed with -9): removed once empty. */
function sweepStale(ownDir: string): void {
  let names: string[];
  try {
    names = readdirSync(ownDir).filter((name) => /^swarmlet-\d+$/.test(name));
  } catch {
    return;
  }
  for (const name of names) {
    if (isAlive(Number(name.slice('swarmlet-'.length)))) continue;
    const dir = join(ownDir, name);
    for (const child of readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()))
      tryRmdir(join(dir, child.name));
    tryRmdir(dir);
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function writeText(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {
    // Swap accounting may be off (no swap, or the kernel booted without it): the memory limit still holds.
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still has a process (the kernel releases an exited one a moment later) or gone already.
  }
}
