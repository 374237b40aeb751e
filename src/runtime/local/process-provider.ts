import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { Provider, ProviderEvents } from '../provider.js';
import { packageRoot } from './package-root.js';
import { fromSwarmletSchema, isWireResult, type MonitorSample, type ToSwarmlet, type WireTask } from './ipc.js';
import { BlackBox, blackBoxDir, removeBoxDir } from './black-box.js';
import { MemoryCgroups, type MemoryEnforcement, type SwarmletCgroup } from './cgroup.js';
import { cpuTimeMs, residentMb } from './outside-usage.js';
import { prefixLines } from './swarmlet-output.js';

interface Child {
  readonly process: ChildProcess;
  /** When each pending load was requested: its load time runs from here to `ready`. */
  readonly loadRequestedAtMs: Map<string, number>;
  exited: boolean;
  /** Why we killed it, when we did: reported instead of the bare signal. */
  killReason?: string;
  /** A first load whose state is too big for the environment: sent as a `load` message once the host says `hello`. */
  deferredLoad?: Extract<ToSwarmlet, { t: 'load' }>;
  /** Which micro-task it last started: read after a crash so only that one pays an attempt. */
  readonly box: BlackBox;
  /** Its kernel-enforced memory limit, where the machine has cgroups. */
  readonly cgroup: SwarmletCgroup | undefined;
  /** The swarmlet's own last report (heap, event-loop delay, task counts); memory and CPU are measured here. */
  inside?: MonitorSample;
  /** What its black box said when we killed it: the micro-task that broke a limit or the protocol. */
  runningAtKill?: number | null;
  /** Stopped here for holding more memory than its limit. */
  memoryKill?: boolean;
  /** The most resident memory measured from outside, in MB. */
  peakMb: number;
  /** CPU time at the last outside measurement, for the CPU share between two. */
  lastCpu?: { atMs: number; cpuMs: number };
}

export interface ProcessProviderOptions {
  /** How often swarmlets are measured (from outside) and report (from inside). */
  readonly monitorIntervalMs: number;
  /** A swarmlet holding more resident memory is stopped; undefined: no limit. */
  readonly memoryLimitMb?: number;
  /** Where a swarmlet's stdout and stderr go, line by line (default: this process's stderr, prefixed). */
  readonly output?: (line: string) => void;
}

/** Without a kernel limit, memory is sampled this often at least: a fast allocator overshoots less. */
const OUTSIDE_SAMPLE_MAX_MS = 50;

/**
 * A state up to this size (as JSON) rides in the fork's environment with the first load; a bigger
 * one follows as a message (one environment string may hold 128 KiB on Linux).
 */
const ENV_STATE_MAX_BYTES = 64 * 1024;

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

/** Swarmlets as child processes of this one (`child_process.fork`, JSON IPC). */
export class ProcessProvider implements Provider {
  private readonly children = new Map<string, Child>();
  private readonly hostPath = swarmletHostPath();
  private readonly boxDir = blackBoxDir();
  private readonly cgroups: MemoryCgroups | undefined;
  private watch: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly events: ProviderEvents,
    private readonly clock: Clock,
    private readonly options: ProcessProviderOptions = { monitorIntervalMs: 250 },
  ) {
    this.cgroups = options.memoryLimitMb === undefined ? undefined : MemoryCgroups.open();
  }

  /** How the memory limit is enforced: by the kernel where cgroups allow, else by measuring from outside. */
  get memoryEnforcement(): MemoryEnforcement {
    return this.cgroups?.kind ?? 'proc-sampling';
  }

  start(swarmletId: string, taskType: string, modulePath: string, state?: unknown): void {
    if (this.children.has(swarmletId)) return;
    const startedAtMs = this.clock.nowMs();
    let load = JSON.stringify({ taskType, modulePath, state });
    const deferred = Buffer.byteLength(load) > ENV_STATE_MAX_BYTES;
    if (deferred) load = '';
    const box = new BlackBox(this.boxDir, swarmletId);
    // execArgv: [] so a parent run through a TS loader does not make every cold start pay for it.
    const child = fork(this.hostPath, [], {
      execArgv: [],
      env: {
        ...process.env,
        SWARMLET_MONITOR_MS: String(this.options.monitorIntervalMs),
        SWARMLET_LOAD: load,
        SWARMLET_BLACK_BOX: box.path,
      },
      serialization: 'json',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const record: Child = {
      process: child,
      loadRequestedAtMs: new Map([[taskType, startedAtMs]]),
      exited: false,
      box,
      cgroup: this.limitMemory(swarmletId, child),
      peakMb: 0,
    };
    if (deferred) record.deferredLoad = { t: 'load', taskType, modulePath, activate: true, state };
    this.children.set(swarmletId, record);
    const output = this.options.output ?? ((line: string) => process.stderr.write(`${line}\n`));
    prefixLines(child.stdout!, `swarmlet ${swarmletId}`, output);
    prefixLines(child.stderr!, `swarmlet ${swarmletId}`, output);
    child.on('message', (message) => this.receive(swarmletId, record, message));
    child.on('error', () => undefined); // 'exit' follows and reports it
    child.on('exit', (code, signal) => this.exited(swarmletId, record, code, signal));
    this.watch ??= setInterval(() => this.measureAll(), this.sampleEveryMs()).unref();
  }

  private exited(swarmletId: string, record: Child, code: number | null, signal: NodeJS.Signals | null): void {
    record.exited = true;
    const oomKilled = (record.cgroup?.oomKills() ?? 0) > 0;
    const peakMb = Math.max(record.peakMb, record.cgroup?.peakMb() ?? 0);
    record.cgroup?.remove();
    const limit = `its memory limit of ${this.options.memoryLimitMb} MB`;
    const detail =
      (oomKilled ? `was stopped by the kernel (${this.memoryEnforcement}): it reached ${limit}` : undefined) ??
      (record.killReason === undefined ? undefined : record.killReason) ??
      (signal ? `killed by ${signal}` : `exited with code ${code}`);
    const withPeak = oomKilled || record.memoryKill ? `${detail} (peak ${Math.round(peakMb)} MB)` : detail;
    const lastStarted = record.box.readAndRemove();
    this.events.exited(swarmletId, this.clock.nowMs(), withPeak, record.runningAtKill ?? lastStarted);
    this.children.delete(swarmletId);
  }

  /** Puts a new swarmlet under its kernel memory limit; undefined where that is not possible. */
  private limitMemory(swarmletId: string, child: ChildProcess): SwarmletCgroup | undefined {
    if (!this.cgroups || this.options.memoryLimitMb === undefined || child.pid === undefined) return undefined;
    try {
      const cgroup = this.cgroups.create(swarmletId, this.options.memoryLimitMb);
      cgroup.add(child.pid);
      return cgroup;
    } catch {
      return undefined; // measured from outside instead (measureAll)
    }
  }

  private sampleEveryMs(): number {
    const every = this.options.monitorIntervalMs;
    return this.cgroups || this.options.memoryLimitMb === undefined ? every : Math.min(every, OUTSIDE_SAMPLE_MAX_MS);
  }

  /** Measures each swarmlet from outside; one over its memory limit is stopped whatever it says of itself. */
  private measureAll(): void {
    const nowMs = this.clock.nowMs();
    for (const [swarmletId, record] of this.children) {
      const pid = record.process.pid;
      if (record.exited || pid === undefined || record.killReason !== undefined) continue;
      const rssMb = residentMb(pid);
      if (rssMb !== undefined) record.peakMb = Math.max(record.peakMb, rssMb);
      const limitMb = this.options.memoryLimitMb;
      if (rssMb !== undefined && limitMb !== undefined && rssMb > limitMb) {
        record.memoryKill = true;
        this.kill(swarmletId, `was stopped: it held ${Math.round(rssMb)} MB, over its memory limit of ${limitMb} MB`);
        continue;
      }
      const cpuMs = cpuTimeMs(pid);
      const last = record.lastCpu;
      if (cpuMs !== undefined) record.lastCpu = { atMs: nowMs, cpuMs };
      if (!record.inside || rssMb === undefined) continue;
      const cpuPercent =
        last && cpuMs !== undefined && nowMs > last.atMs
          ? ((cpuMs - last.cpuMs) / (nowMs - last.atMs)) * 100
          : record.inside.cpuPercent;
      this.events.sample(swarmletId, { ...record.inside, rssMb, cpuPercent }, nowMs);
    }
  }

  load(swarmletId: string, taskType: string, modulePath: string, activate: boolean, state?: unknown): void {
    const record = this.children.get(swarmletId);
    if (!record) return;
    record.loadRequestedAtMs.set(taskType, this.clock.nowMs());
    this.send(
      record,
      state === undefined
        ? { t: 'load', taskType, modulePath, activate }
        : { t: 'load', taskType, modulePath, activate, state },
    );
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
    setTimeout(() => record.exited || record.process.kill('SIGKILL'), 2_000).unref();
  }

  kill(swarmletId: string, reason: string): void {
    const record = this.children.get(swarmletId);
    if (!record || record.exited) return;
    record.killReason = reason;
    record.runningAtKill = record.box.read();
    record.process.kill('SIGKILL');
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
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    const waits = [...this.children.values()]
      .filter((record) => !record.exited)
      .map(
        (record) =>
          new Promise<void>((resolve) => {
            record.process.once('exit', () => resolve());
            record.process.kill('SIGKILL');
          }),
      );
    await Promise.all(waits);
    removeBoxDir(this.boxDir);
    this.cgroups?.close();
  }

  private send(record: Child, message: ToSwarmlet): void {
    if (record.exited || !record.process.connected) return;
    record.process.send(message);
  }

  private receive(swarmletId: string, record: Child, raw: unknown): void {
    if (record.killReason !== undefined) return; // condemned: whatever it still sends is not trusted
    if (isResultsMessage(raw)) {
      // The hot path: the envelope checked by hand, each result by isWireResult (a schema per result costs more than a
      // no-op task).
      this.events.results(swarmletId, raw.results.filter(isWireResult), this.clock.nowMs());
      return;
    }
    const parsed = fromSwarmletSchema.safeParse(raw);
    const atMs = this.clock.nowMs();
    if (!parsed.success) {
      // A swarmlet that speaks nonsense is broken: stop it; its micro-tasks are retried elsewhere.
      const issue = parsed.error.issues[0];
      record.runningAtKill = record.box.read();
      record.killReason = `was stopped after an invalid message (${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'unknown'})`;
      record.process.kill('SIGKILL');
      return;
    }
    const message = parsed.data;
    switch (message.t) {
      case 'hello':
        if (record.deferredLoad) this.send(record, record.deferredLoad);
        record.deferredLoad = undefined;
        this.events.up(swarmletId, atMs);
        return;
      case 'ready':
        this.events.ready(
          swarmletId,
          message.taskType,
          atMs,
          atMs - (record.loadRequestedAtMs.get(message.taskType) ?? atMs),
          message.activated,
          message.stateful ?? false,
        );
        return;
      case 'load-failed':
        this.events.loadFailed(swarmletId, message.taskType, atMs, message.message);
        return;
      case 'results':
        this.events.results(swarmletId, message.results.filter(isWireResult), atMs);
        return;
      case 'sample':
        // Kept for what only the swarmlet knows (heap, event-loop delay); memory and CPU come from
        // measureAll. Where /proc cannot be read, its own report is all there is.
        record.inside = message.sample;
        if (record.process.pid === undefined || residentMb(record.process.pid) === undefined)
          this.events.sample(swarmletId, message.sample, atMs);
        return;
      case 'state':
        this.events.state(swarmletId, message.taskType, atMs, message.state);
        return;
      case 'state-failed':
        this.events.stateFailed(swarmletId, message.taskType, atMs, message.message);
        return;
    }
  }
}
