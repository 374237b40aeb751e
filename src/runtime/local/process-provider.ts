import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { Environment } from '../../core/environment.js';
import type { Provider, ProviderEvents } from '../provider.js';
import { packageRoot } from './package-root.js';
import { fromSwarmletSchema, isWireResult, type ToSwarmlet, type WireTask } from './ipc.js';
import { blackBoxDir, removeBoxDirIfEmpty, sweepStaleBoxDirs } from './black-box.js';
import { MemoryCgroups, type MemoryEnforcement, type SwarmletCgroup } from './cgroup.js';
import { MemoryWatchdog } from './memory-watchdog.js';
import { residentMb } from './outside-usage.js';
import { forkSwarmlet, killSwarmlet, measureOutside, type SwarmletProcess } from './swarmlet-process.js';
import { ProviderCaps, type CapEnforcement, type NodeCaps } from './provider-caps.js';
import type { SandboxOptions, TaskPermission } from './sandbox.js';

export interface ProcessProviderOptions {
  /** How often swarmlets are measured (from outside) and report (from inside). */
  readonly monitorIntervalMs: number;
  /** A swarmlet holding more resident memory is stopped; undefined: no limit. */
  readonly memoryLimitMb?: number;
  /** Where a swarmlet's stdout and stderr go, line by line (default: this process's stderr, prefixed). */
  readonly output?: (line: string) => void;
  /**
   * Processes forked ahead, with no task type yet (default 2): a start takes one and pays a module
   * load instead of a fork (a crashed swarmlet is back in milliseconds, not a cold start). Two, so
   * one is still booted when crashes come faster than a boot on a busy machine (~100–250 ms).
   */
  readonly spares?: number;
  /** Where task code is held in (sandbox.ts); default: no sandbox. */
  readonly sandbox?: SandboxOptions;
  /** What each task type asks of its sandbox (signed with its bundle in a cluster); default: nothing. */
  readonly permissionsOf?: (taskType: string) => readonly TaskPermission[];
  /**
   * The node's consent caps over all swarmlets together (an agent's `--max-cpu` × its cores, `--max-memory`), held on
   * what they really use (provider-caps.ts); default: none.
   */
  readonly caps?: NodeCaps;
}

/**
 * A state up to this size (as JSON) rides in the fork's environment with the first load; a bigger
 * one follows as a message (one environment string may hold 128 KiB on Linux).
 */
const ENV_STATE_MAX_BYTES = 64 * 1024;
/** Without a kernel limit, the watchdog thread reads memory this often: a fast allocator overshoots little. */
const WATCHDOG_EVERY_MS = 10;

const SPARE_NICE = 19;
let providerInstances = 0;
const DEFAULT_SPARES = 2;

function setNice(record: SwarmletProcess, nice: number): void {
  try {
    if (record.process.pid !== undefined) setPriority(record.process.pid, nice);
  } catch {
    // Gone already, or not allowed: it keeps the priority it has.
  }
}

/** Share of the limit that, with the kernel already holding the group at its limit, counts as reaching it. */
const AT_LIMIT_SHARE = 0.95;

/**
 * Over the limit, measured from outside; or, under a kernel limit, pressed against it: the kernel
 * may spend seconds reclaiming before it kills, and the swarmlet is stopped without waiting for that.
 */
function overLimit(record: SwarmletProcess, rssMb: number, limitMb: number): boolean {
  if (rssMb > limitMb) return true;
  return record.cgroup !== undefined && rssMb >= AT_LIMIT_SHARE * limitMb && record.cgroup.limitHits() > 0;
}

function isResultsMessage(raw: unknown): raw is { t: 'results'; results: unknown[] } {
  return (
    typeof raw === 'object' &&
    raw !== null &&
    (raw as { t?: unknown }).t === 'results' &&
    Array.isArray((raw as { results?: unknown }).results)
  );
}

/** The bundled host (one plain-JS file built by `npm run build`). */
export function swarmletHostPath(): string {
  const path = join(packageRoot(), 'dist', 'swarmlet-host.js');
  if (!existsSync(path)) throw new Error('dist/swarmlet-host.js is missing. Fix: run `npm run build`.');
  return path;
}

/** Swarmlets as child processes of this one (`child_process.fork`, JSON IPC), measured from outside. */
export class ProcessProvider implements Provider {
  private readonly children = new Map<string, SwarmletProcess>();
  private readonly spares: SwarmletProcess[] = [];
  private readonly hostPath = swarmletHostPath();
  private readonly boxDir = blackBoxDir();
  private readonly cgroups: MemoryCgroups | undefined;
  private readonly watchdog: MemoryWatchdog | undefined;
  /** Each swarmlet's memory limit: its own, or the node's memory cap if that is lower. */
  private readonly limitMb: number | undefined;
  private readonly caps: ProviderCaps;
  /** Cancels the outside measurements (undefined: not started). */
  private cancelWatch: (() => void) | undefined;
  private forks = 0;
  /** Several swarms may live in one process: their swarmlets' boxes and cgroups must never share a name. */
  private readonly instance = ++providerInstances;
  private closed = false;
  /**
   * Only root may give a process its priority back after lowering it; under bwrap the host is a grandchild, forked
   * before the launcher could be reniced.
   */
  private get backgroundSpares(): boolean {
    return process.getuid?.() === 0 && this.options.sandbox?.kind !== 'bwrap';
  }

  constructor(
    private readonly events: ProviderEvents,
    /** Time (swarmlets' events, load requests) and timers (measurements, the stop's kill). */
    private readonly environment: Environment,
    private readonly options: ProcessProviderOptions = { monitorIntervalMs: 250 },
  ) {
    sweepStaleBoxDirs();
    this.caps = new ProviderCaps(options.caps ?? {}, this.instance, environment);
    this.limitMb = this.caps.swarmletLimitMb(options.memoryLimitMb);
    this.cgroups = this.limitMb === undefined ? undefined : MemoryCgroups.open(undefined, this.caps.memoryCapGroup);
    if (this.limitMb !== undefined && !this.cgroups)
      this.watchdog = new MemoryWatchdog(this.limitMb, WATCHDOG_EVERY_MS);
    this.caps.open(this.cgroups, options.monitorIntervalMs, (pid, reason, heldMb) =>
      this.overMemoryCap(pid, reason, heldMb),
    );
  }

  /** How the node's consent caps are held here (empty without caps). */
  get capEnforcement(): CapEnforcement {
    return this.caps.enforcement;
  }

  /** How long the swarmlets were paused in all to hold the CPU cap from outside, in ms. */
  get capPausedMs(): number {
    return this.caps.pausedMs;
  }

  get sandbox(): string {
    return this.options.sandbox?.kind ?? 'none';
  }

  /** How the memory limit is enforced: by the kernel where cgroups allow, else by measuring from outside. */
  get memoryEnforcement(): MemoryEnforcement {
    return this.cgroups?.kind ?? 'proc-sampling';
  }

  start(swarmletId: string, taskType: string, modulePath: string, state?: unknown): void {
    if (this.children.has(swarmletId) || this.closed) return;
    const nowMs = this.environment.clock.nowMs();
    const network = this.needsNetwork(taskType);
    const spare = network ? undefined : this.takeSpare();
    const record = spare ?? this.forkWithLoad(taskType, modulePath, state, network);
    record.id = swarmletId;
    record.loadRequestedAtMs.set(taskType, nowMs);
    this.children.set(swarmletId, record);
    if (spare) {
      this.send(record, { t: 'load', taskType, modulePath, activate: true, ...(state !== undefined && { state }) });
      if (record.up) this.events.up(swarmletId, nowMs);
    }
    this.cancelWatch ??= this.environment.timers.every(this.options.monitorIntervalMs, () => this.measureAll());
  }

  private forkWithLoad(taskType: string, modulePath: string, state: unknown, network: boolean): SwarmletProcess {
    const load = JSON.stringify({ taskType, modulePath, state });
    const deferred = Buffer.byteLength(load) > ENV_STATE_MAX_BYTES;
    const record = this.fork(deferred ? '' : load, network);
    if (deferred) record.deferredLoad = { t: 'load', taskType, modulePath, activate: true, state };
    return record;
  }

  private fork(load: string, network = false): SwarmletProcess {
    const name = `${this.instance}-p${++this.forks}`;
    const cgroup = this.memoryCgroup(name);
    // bwrap forks at once: its process joins the groups before it starts anything, not after.
    const joins = [...(cgroup ? [cgroup.procsFile] : []), ...this.caps.joinFiles(cgroup !== undefined)];
    const joinFirst = joins.length > 0 && this.options.sandbox?.kind === 'bwrap';
    const record = forkSwarmlet({
      hostPath: this.hostPath,
      boxDir: this.boxDir,
      boxName: name,
      monitorIntervalMs: this.options.monitorIntervalMs,
      load,
      output: this.options.output ?? ((line) => process.stderr.write(`${line}\n`)),
      printed: (swarmletId, line) => this.events.printed?.(swarmletId, this.environment.clock.nowMs(), line),
      network,
      ...(this.options.sandbox && { sandbox: this.options.sandbox }),
      ...(joinFirst && { joinCgroups: joins }),
    });
    record.network = network;
    record.process.on('message', (message) => this.receive(record, message));
    record.process.on('exit', (code, signal) => this.exited(record, code, signal));
    this.limitMemory(record, cgroup, joinFirst);
    if (record.process.pid !== undefined) this.caps.added(record.process.pid, record.cgroup !== undefined, joinFirst);
    return record;
  }

  /** Only bubblewrap takes the network away; under any other sandbox every swarmlet has it. */
  private needsNetwork(taskType: string): boolean {
    if (this.options.sandbox?.kind !== 'bwrap') return false;
    return this.options.permissionsOf?.(taskType).includes('network') ?? false;
  }

  private takeSpare(): SwarmletProcess | undefined {
    for (let spare = this.spares.shift(); spare; spare = this.spares.shift()) {
      if (spare.exited) continue;
      if (this.backgroundSpares) setNice(spare, 0);
      return spare;
    }
    return undefined;
  }

  /**
   * A spare boots at the lowest CPU priority where we may raise it back when it is taken (root): it
   * uses cores the running work leaves idle instead of slowing that work down.
   */
  private refillSpares(): void {
    while (!this.closed && this.spares.length < (this.options.spares ?? DEFAULT_SPARES)) {
      const spare = this.fork('');
      if (this.backgroundSpares) setNice(spare, SPARE_NICE);
      this.spares.push(spare);
    }
  }

  private exited(record: SwarmletProcess, code: number | null, signal: NodeJS.Signals | null): void {
    record.exited = true;
    killSwarmlet(record); // what it started dies with it
    if (record.process.pid !== undefined) this.caps.exited(record.process.pid);
    if (record.replacedBy !== undefined) return void record.box.readAndRemove(); // replaced on purpose, silently
    const swarmletId = record.id;
    if (swarmletId === undefined) {
      record.cgroup?.remove();
      return void record.box.readAndRemove(); // a spare: nobody to tell
    }
    const oomKilled = (record.cgroup?.oomKills() ?? 0) > 0;
    const watchdogMb = record.process.pid === undefined ? undefined : this.watchdog?.killedAtMb(record.process.pid);
    if (watchdogMb !== undefined && record.killReason === undefined) {
      record.memoryKill = true;
      record.killReason = this.caps.overLimitReason(this.options.memoryLimitMb, watchdogMb, 'over');
    }
    // Under a kernel limit, the group's own peak is what the limit holds (resident size also counts
    // the shared, file-backed pages of node itself, which are charged elsewhere).
    const peakMb = record.cgroup?.peakMb() ?? Math.max(record.peakMb, watchdogMb ?? 0);
    record.cgroup?.remove();
    const detail = oomKilled
      ? this.caps.kernelKillDetail(this.memoryEnforcement, this.options.memoryLimitMb, peakMb)
      : (record.killReason ?? (signal ? `killed by ${signal}` : `exited with code ${code}`));
    const withPeak = oomKilled || record.memoryKill ? `${detail} (peak ${Math.round(peakMb)} MB)` : detail;
    const lastStarted = record.box.readAndRemove();
    this.children.delete(swarmletId);
    this.events.exited(swarmletId, this.environment.clock.nowMs(), withPeak, record.runningAtKill ?? lastStarted);
  }

  /** The outside watch found all swarmlets together over the memory cap, and this one the biggest: it stops now. */
  private overMemoryCap(pid: number, reason: string, heldMb: number): boolean {
    const record = [...this.children.values(), ...this.spares].find((r) => r.process.pid === pid && !r.exited);
    if (!record) return false;
    record.memoryKill = true;
    record.peakMb = Math.max(record.peakMb, heldMb);
    if (record.id === undefined) killSwarmlet(record);
    else this.condemn(record, `was stopped: ${reason}`);
    return true;
  }

  /** A kernel memory limit for a new process, where the machine allows it. */
  private memoryCgroup(name: string): SwarmletCgroup | undefined {
    if (!this.cgroups || this.limitMb === undefined) return undefined;
    try {
      return this.cgroups.create(name, this.limitMb);
    } catch {
      return undefined; // measured from outside instead (measureAll); no watchdog was started for it
    }
  }

  /**
   * Puts a new process under its kernel memory limit where possible (right after the fork, so all it
   * ever holds is charged there, unless it `joined` already); else it is measured from outside.
   */
  private limitMemory(record: SwarmletProcess, cgroup: SwarmletCgroup | undefined, joined: boolean): void {
    const pid = record.process.pid;
    if (pid !== undefined) this.watchdog?.watch(pid);
    if (!cgroup || pid === undefined) return;
    try {
      if (!joined) cgroup.add(pid);
      record.cgroup = cgroup;
    } catch {
      cgroup.remove();
    }
  }

  /** Measures each swarmlet from outside; one over its memory limit is stopped whatever it says of itself. */
  private measureAll(): void {
    const nowMs = this.environment.clock.nowMs();
    const limitMb = this.limitMb;
    const held: { id: string; memoryMb: number }[] = [];
    for (const [swarmletId, record] of this.children) {
      if (record.exited || record.killReason !== undefined) continue;
      const measured = measureOutside(record, nowMs);
      if (!measured) continue;
      if (limitMb !== undefined && overLimit(record, measured.rssMb, limitMb)) {
        record.memoryKill = true;
        this.kill(swarmletId, this.caps.overLimitReason(this.options.memoryLimitMb, measured.rssMb, 'at or over'));
        continue;
      }
      held.push({ id: swarmletId, memoryMb: record.cgroup?.usageMb() ?? measured.rssMb });
      if (!record.inside) continue;
      const cpuPercent = measured.cpuPercent ?? record.inside.cpuPercent;
      this.events.sample(swarmletId, { ...record.inside, rssMb: measured.rssMb, cpuPercent }, nowMs);
    }
    const pressed = this.caps.pressedAtCap(held);
    if (pressed) {
      const record = this.children.get(pressed.stop);
      if (record) record.memoryKill = true;
      this.kill(pressed.stop, `was stopped: ${pressed.reason}`);
    }
  }

  load(swarmletId: string, taskType: string, modulePath: string, activate: boolean, state?: unknown): void {
    let record = this.children.get(swarmletId);
    if (!record) return;
    // Replaced only when it is to serve the type and runs nothing: a prewarm, or a swarmlet still at work, keeps its
    // process (replacing it would lose what it runs); it is replaced when the type is activated in it.
    if (activate && this.needsNetwork(taskType) && !record.network && record.box.read() === null)
      record = this.withNetwork(swarmletId, record);
    record.loadRequestedAtMs.set(taskType, this.environment.clock.nowMs());
    record.loads.set(taskType, modulePath);
    this.send(
      record,
      state === undefined
        ? { t: 'load', taskType, modulePath, activate }
        : { t: 'load', taskType, modulePath, activate, state },
    );
  }

  /**
   * A swarmlet started without network that is asked to serve a type that needs it: a sandbox cannot be widened from
   * inside, so a new process with network takes its place under the same id, with the types it had loaded (their
   * `ready` already told; a stateful one among them starts afresh).
   */
  private withNetwork(swarmletId: string, old: SwarmletProcess): SwarmletProcess {
    const record = this.fork('', true);
    record.id = swarmletId;
    record.up = old.up;
    old.replacedBy = record;
    this.children.set(swarmletId, record);
    killSwarmlet(old);
    for (const [taskType, modulePath] of old.loads) {
      record.loads.set(taskType, modulePath);
      record.silentReady.add(taskType);
      this.send(record, { t: 'load', taskType, modulePath, activate: false });
    }
    return record;
  }

  snapshot(swarmletId: string, taskType: string): void {
    const record = this.children.get(swarmletId);
    if (!record || record.exited) return;
    this.send(record, { t: 'snapshot', taskType });
  }

  dispatch(swarmletId: string, tasks: WireTask[]): void {
    const record = this.children.get(swarmletId);
    if (record) this.send(record, { t: 'run', tasks });
  }

  drop(swarmletId: string, taskIds: number[]): void {
    const record = this.children.get(swarmletId);
    if (record && !record.exited) this.send(record, { t: 'drop', ids: taskIds });
  }

  stop(swarmletId: string): void {
    const record = this.children.get(swarmletId);
    if (!record || record.exited) return;
    this.send(record, { t: 'stop' });
    // A swarmlet stuck in a long synchronous task never reads 'stop'.
    this.environment.timers.after(2_000, () => record.exited || killSwarmlet(record));
  }

  kill(swarmletId: string, reason: string): void {
    const record = this.children.get(swarmletId);
    if (record && !record.exited) this.condemn(record, reason);
  }

  private condemn(record: SwarmletProcess, reason: string): void {
    record.killReason = reason;
    record.runningAtKill = record.box.read();
    killSwarmlet(record);
  }

  /** The micro-task a live swarmlet is running (or ran last), from its black box. */
  lastStarted(swarmletId: string): number | null | undefined {
    const record = this.children.get(swarmletId);
    return record && !record.exited ? record.box.read() : undefined;
  }

  pidOf(swarmletId: string): number | undefined {
    return this.children.get(swarmletId)?.process.pid;
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    this.cancelWatch?.();
    this.cancelWatch = undefined;
    const waits = [...this.children.values(), ...this.spares]
      .filter((record) => !record.exited)
      .map(
        (record) =>
          new Promise<void>((resolve) => {
            record.process.once('exit', () => resolve());
            killSwarmlet(record);
          }),
      );
    await Promise.all(waits);
    removeBoxDirIfEmpty(this.boxDir);
    await this.caps.close();
    this.cgroups?.close();
    await this.watchdog?.close();
  }

  private send(record: SwarmletProcess, message: ToSwarmlet): void {
    if (record.exited || !record.process.connected) return;
    record.process.send(message);
  }

  private receive(record: SwarmletProcess, raw: unknown): void {
    if (record.killReason !== undefined) return; // condemned: whatever it still sends is not trusted
    const swarmletId = record.id;
    if (swarmletId === undefined) {
      // A spare only says hello before it is given a type; anything else is a broken host.
      if ((raw as { t?: unknown } | null)?.t === 'hello') record.up = true;
      else this.condemn(record, 'a spare spoke out of turn');
      return;
    }
    if (isResultsMessage(raw)) {
      // The hot path: the envelope checked by hand, each result by isWireResult (a schema per result costs more than a
      // no-op task).
      this.events.results(swarmletId, raw.results.filter(isWireResult), this.environment.clock.nowMs());
      return;
    }
    const parsed = fromSwarmletSchema.safeParse(raw);
    if (!parsed.success) {
      // A swarmlet that speaks nonsense is broken: stop it; its micro-tasks are retried elsewhere.
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || 'message';
      return this.condemn(record, `was stopped after an invalid message (${where}: ${issue?.message ?? 'unknown'})`);
    }
    this.deliver(swarmletId, record, parsed.data);
  }

  private deliver(swarmletId: string, record: SwarmletProcess, message: ReturnType<typeof fromSwarmletSchema.parse>) {
    const atMs = this.environment.clock.nowMs();
    switch (message.t) {
      case 'hello': {
        const wasUp = record.up; // a replacement (withNetwork) stands for a swarmlet that was up already
        record.up = true;
        if (record.deferredLoad) this.send(record, record.deferredLoad);
        record.deferredLoad = undefined;
        if (!wasUp) this.events.up(swarmletId, atMs);
        return;
      }
      case 'ready': {
        if (record.silentReady.delete(message.taskType)) return;
        this.refillSpares(); // spares boot once this swarmlet is ready, never beside its cold start
        const loadMs = atMs - (record.loadRequestedAtMs.get(message.taskType) ?? atMs);
        const stateful = message.stateful ?? false;
        return this.events.ready(swarmletId, message.taskType, atMs, loadMs, message.activated, stateful);
      }
      case 'load-failed':
        return this.events.loadFailed(swarmletId, message.taskType, atMs, message.message);
      case 'results':
        return this.events.results(swarmletId, message.results.filter(isWireResult), atMs);
      case 'sample':
        // Kept for what only the swarmlet knows (heap, event-loop delay); memory and CPU come from
        // measureAll. Where /proc cannot be read, its own report is all there is.
        record.inside = message.sample;
        if (record.process.pid === undefined || residentMb(record.process.pid) === undefined)
          this.events.sample(swarmletId, message.sample, atMs);
        return;
      case 'state':
        return this.events.state(swarmletId, message.taskType, atMs, message.state);
      case 'state-failed':
        return this.events.stateFailed(swarmletId, message.taskType, atMs, message.message);
    }
  }
}
