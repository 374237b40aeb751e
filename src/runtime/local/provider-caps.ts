import type { Environment } from '../../core/environment.js';
import { memoryCapExceeded, memoryCapVerdict, type MemoryHolder } from '../../place/consent-caps.js';
import type { GroupReadings, MemoryCgroups, MemoryEnforcement } from './cgroup.js';
import { CapWatch, CPU_LOOK_MS } from './cap-watch.js';
import { CpuCapCgroup, type CpuEnforcement } from './cpu-cgroup.js';

/**
 * A node's consent caps over all of one provider's swarmlets together (spares included: they are processes of ours on
 * the owner's machine), held on what they really use:
 * - CPU (cores = maxCpuShare × the node's cores): a CPU cgroup quota where the machine lets us make one
 *   (cpu-cgroup.ts), else measured from /proc and throttled by SIGSTOP/SIGCONT (cap-watch.ts);
 * - memory (maxMemoryMb): each swarmlet's own limit is at most the cap, and the provider's parent memory group holds
 *   the cap over all of them (cgroup.ts); without cgroups the sum is measured from outside and the biggest swarmlet
 *   stopped at once when it is over.
 */
export interface NodeCaps {
  readonly cpuCores?: number;
  readonly memoryMb?: number;
}

/** With the kernel holding a group at its limit, this share of it counts as reaching it. */
const AT_CAP_SHARE = 0.95;

export interface CapEnforcement {
  readonly cpu?: CpuEnforcement;
  readonly memory?: MemoryEnforcement;
}

export class ProviderCaps {
  private cpuGroup: CpuCapCgroup | undefined;
  private watch: CapWatch | undefined;
  private capGroup: GroupReadings | undefined;
  private capHitsSeen = 0;
  private memoryKind: MemoryEnforcement = 'proc-sampling';

  constructor(
    readonly caps: NodeCaps,
    private readonly instance: number,
    /** Time and timers of the outside watch and of the CPU group's removal. */
    private readonly environment: Environment,
  ) {}

  /** The name of this provider's cap groups, under `swarmlet-<pid>` in each hierarchy. */
  get groupName(): string {
    return `caps-${this.instance}`;
  }

  /** Each swarmlet's own memory limit: its limit, or the cap if that is lower. */
  swarmletLimitMb(limitMb: number | undefined): number | undefined {
    const capMb = this.caps.memoryMb;
    return capMb === undefined ? limitMb : Math.min(limitMb ?? Infinity, capMb);
  }

  /** The memory cap's parent group for MemoryCgroups.open; undefined without a memory cap. */
  get memoryCapGroup(): { readonly name: string; readonly limitMb: number } | undefined {
    return this.caps.memoryMb === undefined ? undefined : { name: this.groupName, limitMb: this.caps.memoryMb };
  }

  /**
   * Sets up what holds the caps, once the provider knows whether its memory groups live in a cap group (`memory`,
   * opened with `memoryCapGroup`). `overMemoryCap` stops a swarmlet, by pid, that the outside watch found over the cap.
   */
  open(
    memory: MemoryCgroups | undefined,
    monitorIntervalMs: number,
    overMemoryCap: (pid: number, reason: string, heldMb: number) => boolean,
  ): void {
    const { cpuCores, memoryMb } = this.caps;
    this.cpuGroup = cpuCores === undefined ? undefined : CpuCapCgroup.open(cpuCores, this.groupName);
    this.capGroup = memory?.capReadings();
    this.memoryKind = memory?.kind ?? 'proc-sampling';
    const outsideCpu = cpuCores !== undefined && this.cpuGroup === undefined;
    const outsideMemory = memoryMb !== undefined && this.capGroup === undefined;
    if (!outsideCpu && !outsideMemory) return;
    this.watch = new CapWatch({
      ...(outsideCpu && { cpuCores }),
      ...(outsideMemory && { memoryMb }),
      lookEveryMs: outsideCpu ? Math.min(CPU_LOOK_MS, monitorIntervalMs) : monitorIntervalMs,
      environment: this.environment,
      overMemoryCap,
    });
  }

  /** How each cap is held here (undefined: no such cap). */
  get enforcement(): CapEnforcement {
    const { cpuCores, memoryMb } = this.caps;
    return {
      ...(cpuCores !== undefined && { cpu: this.cpuGroup?.kind ?? 'sigstop-throttle' }),
      ...(memoryMb !== undefined && { memory: this.capGroup ? this.memoryKind : 'proc-sampling' }),
    };
  }

  /** `cgroup.procs` files a launcher that forks at once (bwrap) joins before it starts anything. */
  joinFiles(inMemoryGroup: boolean): string[] {
    return this.cpuJoins(inMemoryGroup) ? [this.cpuGroup!.procsFile] : [];
  }

  /**
   * A new swarmlet process, right after its fork: joins the CPU group (unless it `joined` already), or is watched from
   * outside. In v2 one hierarchy holds both: a process in a memory group under the cap group is under its quota too.
   */
  added(pid: number, inMemoryGroup: boolean, joined: boolean): void {
    this.watch?.watch(pid);
    if (!joined && this.cpuJoins(inMemoryGroup)) {
      try {
        this.cpuGroup!.add(pid);
      } catch {
        // It exited already (the group took processes before, so the kernel does not refuse this one otherwise).
      }
    }
  }

  private cpuJoins(inMemoryGroup: boolean): boolean {
    return this.cpuGroup !== undefined && (this.cpuGroup.kind === 'cgroup-v1' || !inMemoryGroup);
  }

  exited(pid: number): void {
    this.watch?.unwatch(pid);
  }

  /**
   * Under a kernel-held cap: the group pressed against it (its use at 95 % and new limit hits) means the kernel is
   * reclaiming and about to kill; the biggest swarmlet is stopped now, with the reason. Undefined: nothing to stop.
   */
  pressedAtCap(holders: readonly MemoryHolder[]): { readonly stop: string; readonly reason: string } | undefined {
    const capMb = this.caps.memoryMb;
    if (this.capGroup === undefined || capMb === undefined || holders.length === 0) return undefined;
    const hits = this.capGroup.limitHits();
    const usageMb = this.capGroup.usageMb() ?? 0;
    if (hits <= this.capHitsSeen || usageMb < AT_CAP_SHARE * capMb) return undefined;
    this.capHitsSeen = hits;
    // The kernel's own count decides; the swarmlets' resident sizes only say which one is the biggest. v1's usage is
    // batched per CPU and may read a little over the limit the kernel holds: what is said is at most the cap.
    const biggest = memoryCapVerdict(holders, 0);
    const heldMb = Math.min(usageMb, capMb);
    return biggest.ok ? undefined : { stop: biggest.stop, reason: memoryCapExceeded(capMb, heldMb, holders.length) };
  }

  /** Why a swarmlet holding `heldMb` was stopped at its limit: the cap, when its limit came from the cap. */
  overLimitReason(ownLimitMb: number | undefined, heldMb: number, where: 'over' | 'at or over'): string {
    const capMb = this.caps.memoryMb;
    if (capMb !== undefined && capMb <= (ownLimitMb ?? Infinity))
      return `was stopped: ${memoryCapExceeded(capMb, heldMb)}`;
    return `was stopped: it held ${Math.round(heldMb)} MB, ${where} its memory limit of ${ownLimitMb} MB`;
  }

  /**
   * Killed by the kernel for memory: at its own limit, or (its peak short of that) at the node's cap over all
   * swarmlets, which the kernel holds in their parent group.
   */
  kernelKillDetail(enforcement: MemoryEnforcement, ownLimitMb: number | undefined, peakMb: number): string {
    const byKernel = `was stopped by the kernel (${enforcement})`;
    const capMb = this.caps.memoryMb;
    const ownFirst = ownLimitMb !== undefined && ownLimitMb < (capMb ?? Infinity);
    if (capMb === undefined || (ownFirst && peakMb >= AT_CAP_SHARE * ownLimitMb))
      return `${byKernel}: it reached its memory limit of ${ownLimitMb} MB`;
    return `${byKernel}: ${memoryCapExceeded(capMb, this.capGroup?.peakMb() ?? peakMb)}`;
  }

  /** Time the outside throttle paused the swarmlets, in ms (0 where the kernel holds the quota). */
  get pausedMs(): number {
    return this.watch?.pausedMs ?? 0;
  }

  /** Lets paused swarmlets run, stops watching, removes the CPU group (memory groups go with MemoryCgroups). */
  async close(): Promise<void> {
    this.watch?.close();
    await this.cpuGroup?.close(this.environment);
  }
}
