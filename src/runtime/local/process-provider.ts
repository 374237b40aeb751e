import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { Provider, ProviderEvents } from '../provider.js';
import { packageRoot } from './package-root.js';
import { fromSwarmletSchema, isWireResult, type ToSwarmlet, type WireTask } from './ipc.js';

interface Child {
  readonly process: ChildProcess;
  /** When each pending load was requested: its load time runs from here to `ready`. */
  readonly loadRequestedAtMs: Map<string, number>;
  exited: boolean;
  /** Why we killed it, when we did: reported instead of the bare signal. */
  killReason?: string;
  /** A first load whose state is too big for the environment: sent as a `load` message once the host says `hello`. */
  deferredLoad?: Extract<ToSwarmlet, { t: 'load' }>;
}

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

  constructor(
    private readonly events: ProviderEvents,
    private readonly clock: Clock,
    private readonly monitorIntervalMs = 250,
  ) {}

  start(swarmletId: string, taskType: string, modulePath: string, state?: unknown): void {
    if (this.children.has(swarmletId)) return;
    const startedAtMs = this.clock.nowMs();
    let load = JSON.stringify({ taskType, modulePath, state });
    const deferred = Buffer.byteLength(load) > ENV_STATE_MAX_BYTES;
    if (deferred) load = '';
    // execArgv: [] so a parent run through a TS loader does not make every cold start pay for it.
    const child = fork(this.hostPath, [], {
      execArgv: [],
      env: { ...process.env, SWARMLET_MONITOR_MS: String(this.monitorIntervalMs), SWARMLET_LOAD: load },
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const record: Child = { process: child, loadRequestedAtMs: new Map([[taskType, startedAtMs]]), exited: false };
    if (deferred) record.deferredLoad = { t: 'load', taskType, modulePath, activate: true, state };
    this.children.set(swarmletId, record);
    child.on('message', (message) => this.receive(swarmletId, record, message));
    child.on('error', () => undefined); // 'exit' follows and reports it
    child.on('exit', (code, signal) => {
      record.exited = true;
      const detail = record.killReason ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
      this.events.exited(swarmletId, this.clock.nowMs(), detail);
    });
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
    record.process.kill('SIGKILL');
  }

  pidOf(swarmletId: string): number | undefined {
    return this.children.get(swarmletId)?.process.pid;
  }

  async stopAll(): Promise<void> {
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
