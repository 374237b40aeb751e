import type { Environment } from '../../core/environment.js';
import type { Provider, ProviderEvents } from '../../runtime/provider.js';
import { RESULT_OK, type WireTask } from '../../runtime/local/wire.js';
import type { LoadedTally } from './loaded-tally.js';

/** What a simulated swarmlet costs in time: its cold start, a later type's load, and leaving. */
export interface SimSwarmletModel {
  /** Start → ready of its first type (a process's fork and the module's load). */
  readonly coldStartMs: number;
  /** Loading another type into a live swarmlet (specialize, prewarm). */
  readonly loadMs: number;
  /** Stop → exited. */
  readonly stopMs: number;
}

/** What a micro-task takes, read from its input (the trace's measurement): its service time, CPU and memory. */
export interface SimWork {
  (input: unknown): {
    readonly ms: number;
    readonly cpuCores: number;
    readonly memoryMb: number;
    /** Its task type, where the input says: checked against what the swarmlet loaded. */
    readonly taskType?: string;
  };
}

/** Faults a simulation may inject (the VOPR's schedule): results that come back late. */
export interface SimFaults {
  /** Extra time before a finished micro-task's result reaches the orchestrator. */
  resultDelayMs?(): number;
}

/** One micro-task run to its end on a simulated swarmlet (`label`: its id in the job). */
export interface SimRun {
  readonly label: string;
  readonly swarmletId: string;
  readonly startMs: number;
  readonly endMs: number;
}

interface SimSwarmlet {
  readonly startedAtMs: number;
  /** Types whose load finished (ready told), and the one it serves. */
  readonly readyTypes: Set<string>;
  activeType: string | undefined;
  stopping: boolean;
  readonly queue: WireTask[];
  running: { readonly taskId: number; readonly cancel: () => void } | undefined;
  readonly pending: (() => void)[];
  exited: boolean;
}

/**
 * Swarmlets on a virtual clock, behind the runtime's own Provider interface: the orchestrator cannot tell them from
 * processes. Each runs its queue one micro-task at a time, for the time its input says; loads, cold starts and exits
 * take the model's time. It keeps the bill: swarmlet time held (start → exit) and cold starts.
 */
export class SimProvider implements Provider {
  private readonly swarmlets = new Map<string, SimSwarmlet>();
  private heldMs = 0;
  coldStarts = 0;
  /** Every micro-task run to its end, in order: what the invariant checkers read. */
  readonly ran: SimRun[] = [];
  /** What broke the provider's own invariants (a micro-task of a type its swarmlet had not loaded). */
  readonly violations: string[] = [];
  /** Most swarmlets up and not asked to stop, at once. */
  maxServing = 0;
  /** Every type each swarmlet was started with or specialized to (activated), in order. */
  readonly served: { readonly swarmletId: string; readonly taskType: string; readonly atMs: number }[] = [];
  readonly sandbox = 'simulated';
  readonly memoryEnforcement = 'simulated';

  constructor(
    private readonly events: ProviderEvents,
    private readonly environment: Environment,
    private readonly model: SimSwarmletModel,
    private readonly work: SimWork,
    private readonly faults: SimFaults = {},
    /** Where the keep-alive measures are kept (which types are warm, idle memory-time), if anyone reads them. */
    private readonly tally?: LoadedTally,
  ) {}

  /** Swarmlets up and not asked to stop (the VOPR's kills pick among them). */
  serving(): string[] {
    return [...this.swarmlets].filter(([, swarmlet]) => !swarmlet.stopping).map(([id]) => id);
  }

  /** Swarmlet time held until `atMs`: what exited, and what is still up counted to `atMs`. */
  heldMsUntil(atMs: number): number {
    let live = 0;
    for (const swarmlet of this.swarmlets.values()) live += atMs - swarmlet.startedAtMs;
    return this.heldMs + live;
  }

  start(swarmletId: string, taskType: string): void {
    if (this.swarmlets.has(swarmletId)) return;
    const swarmlet: SimSwarmlet = {
      startedAtMs: this.now(),
      readyTypes: new Set(),
      activeType: undefined,
      stopping: false,
      queue: [],
      running: undefined,
      pending: [],
      exited: false,
    };
    this.swarmlets.set(swarmletId, swarmlet);
    this.tally?.started(swarmletId);
    this.maxServing = Math.max(this.maxServing, this.serving().length);
    this.coldStarts++;
    this.served.push({ swarmletId, taskType, atMs: this.now() });
    const { coldStartMs } = this.model;
    this.later(swarmlet, coldStartMs / 2, () => this.events.up(swarmletId, this.now()));
    this.later(swarmlet, coldStartMs, () => this.ready(swarmletId, swarmlet, taskType, coldStartMs, true));
  }

  load(swarmletId: string, taskType: string, _modulePath: string, activate: boolean): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet) return;
    if (activate) {
      this.served.push({ swarmletId, taskType, atMs: this.now() });
      this.tally?.leaving(swarmletId);
    }
    const { loadMs } = this.model;
    this.later(swarmlet, loadMs, () => this.ready(swarmletId, swarmlet, taskType, loadMs, activate));
  }

  private ready(swarmletId: string, swarmlet: SimSwarmlet, taskType: string, loadMs: number, activate: boolean): void {
    swarmlet.readyTypes.add(taskType);
    if (activate) {
      swarmlet.activeType = taskType;
      this.tally?.activated(swarmletId, taskType, this.now());
    }
    this.events.ready(swarmletId, taskType, this.now(), loadMs, activate, false);
  }

  snapshot(swarmletId: string, taskType: string): void {
    this.events.stateFailed(swarmletId, taskType, this.now(), 'simulated swarmlets keep no state');
  }

  dispatch(swarmletId: string, tasks: WireTask[]): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet) return;
    swarmlet.queue.push(...tasks);
    if (!swarmlet.running) this.runNext(swarmletId, swarmlet);
  }

  drop(swarmletId: string, taskIds: number[]): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet) return;
    const dropped = new Set(taskIds);
    for (let i = swarmlet.queue.length - 1; i >= 0; i--)
      if (dropped.has(swarmlet.queue[i]![0])) swarmlet.queue.splice(i, 1);
  }

  stop(swarmletId: string): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet || swarmlet.exited) return;
    swarmlet.stopping = true;
    this.tally?.leaving(swarmletId);
    this.later(swarmlet, this.model.stopMs, () => this.exit(swarmletId, 'stopped'));
  }

  kill(swarmletId: string, reason: string): void {
    if (this.swarmlets.get(swarmletId)?.exited === false) this.exit(swarmletId, reason);
  }

  lastStarted(swarmletId: string): number | null | undefined {
    const swarmlet = this.swarmlets.get(swarmletId);
    return swarmlet ? (swarmlet.running?.taskId ?? null) : undefined;
  }

  async stopAll(): Promise<void> {
    for (const swarmletId of [...this.swarmlets.keys()]) this.exit(swarmletId, 'stopped');
    return Promise.resolve();
  }

  private runNext(swarmletId: string, swarmlet: SimSwarmlet): void {
    const task = swarmlet.queue.shift();
    swarmlet.running = undefined;
    if (!task) return;
    const [taskId, , input, , , , label] = task;
    const { ms, cpuCores, memoryMb, taskType } = this.work(input);
    if (taskType !== undefined && (taskType !== swarmlet.activeType || !swarmlet.readyTypes.has(taskType)))
      this.violations.push(
        `swarmlet ${swarmletId} was given ${label} of ${taskType} while serving ${swarmlet.activeType ?? 'nothing'}`,
      );
    const startMs = this.now();
    const cancel = this.environment.timers.after(ms, () => {
      this.ran.push({ label, swarmletId, startMs, endMs: this.now() });
      const usage: [number, number] = [Math.round(ms * 1000 * cpuCores), Math.round(memoryMb * 1024)];
      swarmlet.running = undefined;
      this.tally?.free(swarmletId, this.now());
      // The output is the micro-task's own id: a checker can tell whose result each output is.
      const deliver = () =>
        this.events.results(swarmletId, [[taskId, RESULT_OK, label, Math.round(ms * 1000), usage]], this.now());
      const delayMs = this.faults.resultDelayMs?.() ?? 0;
      if (delayMs > 0) this.later(swarmlet, delayMs, deliver);
      else deliver();
      if (!swarmlet.exited && !swarmlet.running) this.runNext(swarmletId, swarmlet);
    });
    swarmlet.running = { taskId, cancel };
    this.tally?.busy(swarmletId, startMs);
  }

  private exit(swarmletId: string, detail: string): void {
    const swarmlet = this.swarmlets.get(swarmletId);
    if (!swarmlet || swarmlet.exited) return;
    swarmlet.exited = true;
    for (const cancel of swarmlet.pending) cancel();
    swarmlet.running?.cancel();
    const lastStarted = swarmlet.running?.taskId ?? null;
    this.swarmlets.delete(swarmletId);
    this.heldMs += this.now() - swarmlet.startedAtMs;
    this.tally?.exited(swarmletId, this.now());
    this.events.exited(swarmletId, this.now(), detail, lastStarted);
  }

  /** Runs `then` after `ms` unless the swarmlet exits first. */
  private later(swarmlet: SimSwarmlet, ms: number, then: () => void): void {
    swarmlet.pending.push(this.environment.timers.after(ms, () => swarmlet.exited || then()));
  }

  private now(): number {
    return this.environment.clock.nowMs();
  }
}
