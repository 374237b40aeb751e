import { readdirSync } from 'node:fs';
import type { Environment } from '../../core/environment.js';
import { readProc, residentMb } from './outside-usage.js';
import {
  CPU_THROTTLE_START,
  cpuThrottleStep,
  memoryCapVerdict,
  type CpuThrottleOptions,
  type CpuThrottleState,
} from '../../place/consent-caps.js';

/**
 * The node's consent caps held from outside, where the kernel cannot hold them (no writable cgroups, or
 * SWARMLET_NO_CGROUPS=1): every look reads /proc, finds each swarmlet's processes (itself, whatever it started,
 * detached or reparented, as long as one look saw it born under a swarmlet or in a swarmlet's process group), and
 * - CPU: adds what they all used since the last look and pauses them all (SIGSTOP to each process and each swarmlet's
 *   process group, SIGCONT after) for as long as place/consent-caps.ts's duty cycle says;
 * - memory: sums what each swarmlet's processes hold and, over the cap, has the biggest swarmlet stopped at once.
 * Limits: a process that is born and leaves the swarmlet's tree and group between two looks is not seen; the kernel's
 * group (cpu-cgroup.ts, cgroup.ts) has no such gap.
 */

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux's common ABIs). */
const TICKS_PER_SECOND = 100;
/** Looks this often while there is a CPU cap: a look and a pause are what the cap may be exceeded by. */
export const CPU_LOOK_MS = 100;
/** The duty cycle's knobs: a burst of one look's allowance, a second at most paused between looks. */
const BURST_LOOKS = 1;
const MAX_PAUSE_MS = 1_000;

interface ProcessStat {
  readonly ppid: number;
  readonly pgrp: number;
  /** Start time since boot, in ticks: tells a process from a later one that got its pid. */
  readonly start: number;
  /** Its own CPU time, and its waited-for children's, in ms. */
  readonly selfMs: number;
  readonly childrenMs: number;
}

interface Tracked {
  readonly start: number;
  /** The swarmlet (its first process's pid) it belongs to. */
  readonly root: number;
  ppid: number;
  /** What was counted of it so far. */
  selfMs: number;
  childrenMs: number;
}

export interface CapWatchOptions {
  /** Cores all swarmlets together may use; undefined: no CPU cap held here. */
  readonly cpuCores?: number;
  /** MB all swarmlets together may hold; undefined: no memory cap held here. */
  readonly memoryMb?: number;
  readonly lookEveryMs: number;
  /** The duty cycle's time, and the timer of the looks. */
  readonly environment: Environment;
  /**
   * All swarmlets together hold more than the memory cap: the swarmlet whose first process is `rootPid` must stop now.
   * Returns false when it is not a live swarmlet any more (its leftover processes are then killed here).
   */
  readonly overMemoryCap: (rootPid: number, reason: string, heldMb: number) => boolean;
}

export class CapWatch {
  private readonly roots = new Set<number>();
  private readonly tracked = new Map<number, Tracked>();
  /** CPU counted for processes that ended, by parent: taken off the parent's children time when it waits for them. */
  private readonly credit = new Map<number, number>();
  private throttle: CpuThrottleState = CPU_THROTTLE_START;
  private readonly throttleOptions: CpuThrottleOptions | undefined;
  private paused = false;
  /** Cancels the next look (undefined: none is set). */
  private cancelLook: (() => void) | undefined;
  private closed = false;
  /** Time paused in all, and the last decision's reason: for logs and tests. */
  pausedMs = 0;
  lastReason = '';

  constructor(private readonly options: CapWatchOptions) {
    const cores = options.cpuCores;
    this.throttleOptions =
      cores === undefined
        ? undefined
        : { capCores: cores, burstCpuMs: cores * options.lookEveryMs * BURST_LOOKS, maxPauseMs: MAX_PAUSE_MS };
  }

  /** A new swarmlet process (right after its fork): counted and held from now on, with all it starts. */
  watch(pid: number): void {
    if (this.closed) return;
    this.roots.add(pid);
    this.cancelLook ??= this.options.environment.timers.after(0, () => this.look());
  }

  /** The swarmlet exited. What it left running stays counted and held until it ends too. */
  unwatch(pid: number): void {
    this.roots.delete(pid);
  }

  /** Lets everything run again and stops looking. */
  close(): void {
    this.closed = true;
    this.cancelLook?.();
    this.cancelLook = undefined;
    if (this.paused) this.signalAll('SIGCONT');
    this.paused = false;
  }

  private look(): void {
    this.cancelLook = undefined;
    if (this.closed) return;
    const nowMs = this.options.environment.clock.nowMs();
    const stats = readAllStats();
    const usedMs = this.account(stats);
    if (this.options.memoryMb !== undefined) this.holdMemory(this.options.memoryMb);
    let waitMs = this.options.lookEveryMs;
    if (this.throttleOptions) {
      const decision = cpuThrottleStep(this.throttle, usedMs, nowMs, this.throttleOptions);
      this.throttle = decision.state;
      this.lastReason = decision.reason;
      if (decision.pauseMs > 0) {
        this.signalAll('SIGSTOP'); // again while paused: what was born just before the last stop
        this.paused = true;
        this.pausedMs += decision.pauseMs;
        waitMs = decision.pauseMs; // then look at once: a node still in debt stays paused
      } else if (this.paused) {
        this.signalAll('SIGCONT');
        this.paused = false;
      }
    }
    if (this.roots.size === 0 && this.tracked.size === 0 && !this.paused) return; // watch() starts it again
    this.cancelLook = this.options.environment.timers.after(waitMs, () => this.look());
  }

  /** Finds new processes of the swarmlets, forgets ended ones; returns the CPU-ms they used since the last look. */
  private account(stats: Map<number, ProcessStat>): number {
    for (const [pid, tracked] of this.tracked) {
      const stat = stats.get(pid);
      if (stat !== undefined && stat.start === tracked.start) continue;
      this.tracked.delete(pid);
      this.credit.delete(pid);
      if (this.tracked.has(tracked.ppid))
        this.credit.set(tracked.ppid, (this.credit.get(tracked.ppid) ?? 0) + tracked.selfMs + tracked.childrenMs);
    }
    for (const root of this.roots) {
      const stat = stats.get(root);
      if (stat === undefined) this.roots.delete(root);
      else if (!this.tracked.has(root)) this.track(root, root, stat);
    }
    this.findDescendants(stats);
    let usedMs = 0;
    for (const [pid, tracked] of this.tracked) {
      const stat = stats.get(pid)!;
      const childrenMs = Math.max(0, stat.childrenMs - tracked.childrenMs);
      const credit = this.credit.get(pid) ?? 0;
      const counted = Math.min(credit, childrenMs); // ended children counted already while they lived
      if (credit > 0) this.credit.set(pid, credit - counted);
      usedMs += Math.max(0, stat.selfMs - tracked.selfMs) + childrenMs - counted;
      tracked.selfMs = stat.selfMs;
      tracked.childrenMs = stat.childrenMs;
      tracked.ppid = stat.ppid;
    }
    return usedMs;
  }

  /** Children of tracked processes, and members of a swarmlet's process group (reparented or not), till none is new. */
  private findDescendants(stats: Map<number, ProcessStat>): void {
    for (let added = true, rounds = 0; added && rounds < 64; rounds++) {
      added = false;
      for (const [pid, stat] of stats) {
        if (this.tracked.has(pid) || pid === process.pid) continue;
        const parent = this.tracked.get(stat.ppid);
        const root = parent?.root ?? (this.roots.has(stat.pgrp) ? stat.pgrp : undefined);
        if (root === undefined) continue;
        this.track(pid, root, stat);
        added = true;
      }
    }
  }

  /** A process seen for the first time: all it used so far is the swarmlet's. */
  private track(pid: number, root: number, stat: ProcessStat): void {
    this.tracked.set(pid, { start: stat.start, root, ppid: stat.ppid, selfMs: 0, childrenMs: 0 });
  }

  private holdMemory(capMb: number): void {
    const byRoot = new Map<number, number>();
    for (const [pid, tracked] of this.tracked)
      byRoot.set(tracked.root, (byRoot.get(tracked.root) ?? 0) + (residentMb(pid) ?? 0));
    const verdict = memoryCapVerdict(
      [...byRoot].map(([root, memoryMb]) => ({ id: String(root), memoryMb })),
      capMb,
    );
    if (verdict.ok) return;
    const root = Number(verdict.stop);
    if (this.roots.has(root) && this.options.overMemoryCap(root, verdict.reason, byRoot.get(root)!)) return;
    // What a gone swarmlet left behind: nobody to tell, so it is killed here.
    for (const [pid, tracked] of this.tracked) if (tracked.root === root) signal(pid, 'SIGKILL');
  }

  private signalAll(signalName: NodeJS.Signals): void {
    for (const root of this.roots) signal(-root, signalName); // its process group: what it started and kept there
    for (const pid of this.tracked.keys()) signal(pid, signalName);
  }
}

function signal(target: number, signalName: NodeJS.Signals): void {
  if (target === process.pid || target === -process.pid) return;
  try {
    process.kill(target, signalName);
  } catch {
    // Gone meanwhile, or not a process group.
  }
}

/** Every process's stat line, parsed; empty where there is no /proc. */
function readAllStats(): Map<number, ProcessStat> {
  const stats = new Map<number, ProcessStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return stats;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = parseStat(readProc(`/proc/${name}/stat`));
    if (stat !== undefined) stats.set(Number(name), stat);
  }
  return stats;
}

function parseStat(line: string | undefined): ProcessStat | undefined {
  if (line === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  const ms = (index: number) => (Number(fields[index]) * 1000) / TICKS_PER_SECOND;
  const stat = {
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    start: Number(fields[19]),
    selfMs: ms(11) + ms(12),
    childrenMs: ms(13) + ms(14),
  };
  return Object.values(stat).every(Number.isFinite) ? stat : undefined;
}
