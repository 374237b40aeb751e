import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** What the kernel counts of a memory group. */
export interface GroupReadings {
  /** How many times the kernel killed a process of this group for going over the limit. */
  oomKills(): number;
  /** How many times the group's use reached its limit (the kernel then reclaims, stalls or kills). */
  limitHits(): number;
  /** The most memory the group ever held, in MB (undefined where the kernel does not keep it). */
  peakMb(): number | undefined;
  /** What it holds now, in MB. */
  usageMb(): number | undefined;
}

/** One swarmlet's memory cgroup. */
export interface SwarmletCgroup extends GroupReadings {
  /** Puts a process (the swarmlet, right after its fork) under the limit. */
  add(pid: number): void;
  /** The file a process writes its pid to, to join (a launcher that joins before it starts the swarmlet). */
  readonly procsFile: string;
  /** Kills every process in the group: what a swarmlet started cannot escape by leaving its process group. */
  killAll(): void;
  /** Removes the group (its process must have exited). */
  remove(): void;
}

/** Creates per-swarmlet memory cgroups under `<own cgroup>/swarmlet-<pid>`; `undefined` where not allowed. */
export class MemoryCgroups {
  private constructor(
    private readonly layout: Layout,
    private readonly parentDir: string,
    /** The parent is a provider's cap group under `swarmlet-<pid>`, not `swarmlet-<pid>` itself. */
    private readonly nested = false,
  ) {}

  get kind(): MemoryEnforcement {
    return this.layout.kind;
  }

  /**
   * Tries to set up a parent group for this process's swarmlets; undefined when the machine refuses. With `cap`, the
   * parent is a group of its own under `swarmlet-<pid>` (one per provider) that holds all its swarmlets together to
   * `cap.limitMb` (the node's consent cap; the kernel counts a parent's limit over its children: v1's use_hierarchy,
   * v2 always).
   */
  static open(
    layout = detectLayout(),
    cap?: { readonly name: string; readonly limitMb: number },
  ): MemoryCgroups | undefined {
    // SWARMLET_NO_CGROUPS=1: measure from outside even where cgroups work (to compare, or test the fallback).
    if (!layout || cgroupsDisabled()) return undefined;
    sweepStaleGroups(layout.ownDir);
    const processDir = join(layout.ownDir, `swarmlet-${process.pid}`);
    const parentDir = cap === undefined ? processDir : join(processDir, cap.name);
    try {
      mkdirSync(parentDir, { recursive: true });
      // v2 hands controllers down explicitly; in v1 the child groups inherit the hierarchy.
      if (layout.kind === 'cgroup-v2') {
        writeFileSync(join(processDir, 'cgroup.subtree_control'), '+memory');
        if (cap !== undefined) writeFileSync(join(parentDir, 'cgroup.subtree_control'), '+memory');
      }
      const groups = new MemoryCgroups(layout, parentDir, cap !== undefined);
      if (cap !== undefined) groups.limit(parentDir, cap.limitMb);
      const probe = groups.create('probe', 64);
      probe.remove();
      return groups;
    } catch {
      tryRmdir(parentDir);
      if (cap !== undefined) tryRmdir(processDir);
      return undefined;
    }
  }

  /** The parent group of a provider with a cap: what all its swarmlets hold together, as the kernel counts it. */
  capReadings(): GroupReadings | undefined {
    return this.nested ? this.readings(this.parentDir) : undefined;
  }

  /** A group holding at most `limitMb` of memory (and no swap beyond it). Throws when the kernel refuses. */
  create(name: string, limitMb: number): SwarmletCgroup {
    const dir = join(this.parentDir, name);
    mkdirSync(dir, { recursive: true });
    this.limit(dir, limitMb);
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
      ...this.readings(dir),
      remove: () => tryRmdir(dir),
    };
  }

  private limit(dir: string, limitMb: number): void {
    const bytes = String(Math.floor(limitMb * MB));
    writeFileSync(join(dir, this.layout.limitFile), bytes);
    if (this.layout.swapFile !== undefined) {
      // v1's memsw counts memory + swap; v2's swap.max counts swap alone.
      const swap = this.layout.kind === 'cgroup-v1' ? bytes : '0';
      writeText(join(dir, this.layout.swapFile), swap);
    }
  }

  private readings(dir: string): GroupReadings {
    const v1 = this.layout.kind === 'cgroup-v1';
    return {
      oomKills: () =>
        Number(/oom_kill (\d+)/.exec(readText(join(dir, v1 ? 'memory.oom_control' : 'memory.events')) ?? '')?.[1] ?? 0),
      limitHits: () =>
        v1
          ? Number(readText(join(dir, 'memory.failcnt')) ?? 0)
          : Number(/^max (\d+)/m.exec(readText(join(dir, 'memory.events')) ?? '')?.[1] ?? 0),
      peakMb: () => {
        const peak = readText(join(dir, v1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
        return peak === undefined ? undefined : Number(peak) / MB;
      },
      usageMb: () => {
        const usage = readText(join(dir, v1 ? 'memory.usage_in_bytes' : 'memory.current'));
        return usage === undefined ? undefined : Number(usage) / MB;
      },
    };
  }

  /** Removes the parent group once every swarmlet's group is gone. */
  close(): void {
    // Groups of another swarm in this process still hold their processes: only empty ones go. Another provider's cap
    // group stays even when empty: its swarmlet groups are made in it (a recursive mkdir would make it again uncapped).
    let entries: Dirent[];
    try {
      entries = readdirSync(this.parentDir, { withFileTypes: true });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
      entries = []; // another swarm of this process closed it first (this one had no swarmlet left in it)
    }
    const children = entries.filter((entry) => entry.isDirectory() && (this.nested || !entry.name.startsWith('caps-')));
    for (const child of children) tryRmdir(join(this.parentDir, child.name));
    tryRmdir(this.parentDir);
    if (this.nested) tryRmdir(dirname(this.parentDir));
  }
}

/** SWARMLET_NO_CGROUPS=1: no cgroup is made, every limit is held from outside (to compare, or test the fallback). */
export function cgroupsDisabled(): boolean {
  return process.env.SWARMLET_NO_CGROUPS === '1';
}

/** Groups left by processes that are gone (killed with -9), in `ownDir` of any hierarchy: removed once empty. */
export function sweepStaleGroups(ownDir: string): void {
  let names: string[];
  try {
    names = readdirSync(ownDir).filter((name) => /^swarmlet-\d+$/.test(name));
  } catch {
    return;
  }
  for (const name of names) {
    if (!isAlive(Number(name.slice('swarmlet-'.length)))) removeTree(join(ownDir, name), 3);
  }
}

/** Removes a group and the groups under it, deepest first (a group with a process in it stays). */
function removeTree(dir: string, depth: number): void {
  if (depth > 0) {
    let children: string[] = [];
    try {
      children = readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return;
    }
    for (const child of children) removeTree(join(dir, child), depth - 1);
  }
  tryRmdir(dir);
}

export function readText(path: string): string | undefined {
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

export function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still has a process (the kernel releases an exited one a moment later) or gone already.
  }
}
