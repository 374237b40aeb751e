/**
 * The agent's own record of each swarmlet it runs, and the reconcile plan: desired state and
 * consent cap in, what to start, specialize and retire out (no I/O here, so it is easy to test and
 * idempotent: the same inputs against the same swarmlets plan nothing new).
 */
import { transitionReason, type SwarmletState } from '../../core/swarmlet-lifecycle.js';
import type { DesiredState, SwarmletStatus } from './protocol.js';

/** Finished micro-tasks whose job keys a swarmlet remembers, for lines printed after their results. */
const RECENT_LABELS = 64;

/** A type change that waits for in-flight work to finish. */
export interface PendingLoad {
  readonly taskType: string;
  readonly hash: string;
  readonly modulePath: string;
  readonly reason: string;
}

export class LocalSwarmlet {
  state: SwarmletState = 'starting';
  readonly inFlight = new Set<number>();
  /** Set when it should stop: it takes no work and stops once its in-flight work is done. */
  stopReason: string | undefined;
  /** A specialization waiting for in-flight work to finish (or for the first load to end). */
  pending: PendingLoad | undefined;
  /** When a drain (stop or specialize) gives up waiting and requeues what is left. */
  drainDeadlineMs: number | undefined;
  readonly warmTypes = new Set<string>();
  /** The type it serves has snapshot/restore (its `ready` said so): its state is saved before it leaves the type. */
  stateful = false;
  /** No micro-task was sent to it since its state was restored or saved: nothing new to save. */
  stateSaved = false;
  /** Its state is being saved (agent-state.ts). */
  saving: Promise<void> | undefined;
  /** Killed (work not allowed): it answers nothing any more. */
  killed = false;
  rssMb: number | undefined;
  cpuPercent: number | undefined;
  tasksDone = 0;
  /** Its last progress: a micro-task sent while it ran none, or a result (it runs its queue in order). */
  progressAtMs = 0;
  /** `tasksDone` at its last checkpoint, and whether one is under way (agent-pool.ts `checkpoint`). */
  tasksAtCheckpoint = 0;
  checkpointing = false;
  /**
   * The job keys of the micro-tasks it ran last, by label: a line it prints may arrive after the micro-task's result
   * (printed lines and results travel apart), and is still filed under `<jobKey>:<label>`.
   */
  readonly recentJobKeys = new Map<string, string>();

  constructor(
    /** The director's id (`s3`). */
    readonly id: string,
    /**
     * The provider's id: `s3#2` for the second process behind s3, so events of an old process never reach a new one.
     */
    readonly processId: string,
    public taskType: string,
    public hash: string,
  ) {}

  /** Remembers a finished micro-task's job key by its label (the last RECENT_LABELS). */
  ranLabel(label: string, jobKey: string): void {
    this.recentJobKeys.delete(label);
    this.recentJobKeys.set(label, jobKey);
    if (this.recentJobKeys.size > RECENT_LABELS) this.recentJobKeys.delete(this.recentJobKeys.keys().next().value!);
  }

  /** Moves along the one lifecycle table; an illegal edge throws (a bug). */
  transition(to: SwarmletState): void {
    transitionReason(this.state, to);
    this.state = to;
  }

  /** Can take micro-tasks of its type now. */
  get serving(): boolean {
    return (
      (this.state === 'idle' || this.state === 'busy') && this.pending === undefined && this.stopReason === undefined
    );
  }

  /** The type it will serve once any pending load is done. */
  get targetType(): string {
    return this.pending?.taskType ?? this.taskType;
  }

  status(nowMs: number): SwarmletStatus {
    return {
      id: this.id,
      taskType: this.taskType,
      state: this.state,
      inFlight: this.inFlight.size,
      tasksDone: this.tasksDone,
      ...(this.inFlight.size > 0 && { busyForMs: Math.max(0, nowMs - this.progressAtMs) }),
      ...(this.rssMb !== undefined && { rssMb: this.rssMb }),
      ...(this.cpuPercent !== undefined && { cpuPercent: this.cpuPercent }),
    };
  }
}

export interface ReconcilePlan {
  readonly start: readonly { readonly id: string; readonly taskType: string }[];
  readonly specialize: readonly { readonly swarmlet: LocalSwarmlet; readonly taskType: string }[];
  readonly retire: readonly { readonly swarmlet: LocalSwarmlet; readonly reason: string }[];
  /** Desired swarmlets the consent cap leaves out. */
  readonly capped: readonly string[];
}

/**
 * Level-based: compares what is desired (cut to `cap`) with the live swarmlets. Live ones the cap
 * keeps are preferred over new ones (no churn); every live process, draining ones included,
 * counts against the cap, so a replacement starts only once the one it replaces has exited.
 */
export function planReconcile(
  desired: DesiredState,
  live: readonly LocalSwarmlet[],
  cap: { readonly count: number; readonly limit: string },
): ReconcilePlan {
  const wanted = new Map<string, string>();
  for (const { id, taskType } of desired.swarmlets) if (!wanted.has(id)) wanted.set(id, taskType);
  const active = new Map(live.filter((s) => s.stopReason === undefined).map((s) => [s.id, s]));
  const order = [...wanted.keys()];
  const kept = [...order.filter((id) => active.has(id)), ...order.filter((id) => !active.has(id))].slice(
    0,
    Math.max(0, cap.count),
  );
  const allowed = new Set(kept);
  const capped = order.filter((id) => !allowed.has(id));

  const retire: { swarmlet: LocalSwarmlet; reason: string }[] = [];
  const specialize: { swarmlet: LocalSwarmlet; taskType: string }[] = [];
  for (const swarmlet of active.values()) {
    const taskType = wanted.get(swarmlet.id);
    if (taskType === undefined) retire.push({ swarmlet, reason: 'no longer desired' });
    else if (!allowed.has(swarmlet.id))
      retire.push({ swarmlet, reason: `over the consent cap of ${cap.count} (${cap.limit})` });
    else if (taskType !== swarmlet.targetType) specialize.push({ swarmlet, taskType });
  }
  const slots = Math.max(0, cap.count - live.length);
  const start = kept
    .filter((id) => !active.has(id))
    .slice(0, slots)
    .map((id) => ({ id, taskType: wanted.get(id)! }));
  return { start, specialize, retire, capped };
}
