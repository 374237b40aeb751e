import type { PriorityName } from '../core/limits.js';
import { admit, type AdmissionDecision, type AdmissionLimits } from '../schedule/admission.js';
import type { MicroTask } from './jobs/micro-task.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import { phaseOf, type UsageTracker } from './usage-tracker.js';

/** Hard limits, enforced whatever the policy decides. Undefined: no limit. */
export interface HardLimits {
  readonly taskTimeoutMs: number | undefined;
  readonly swarmletMemoryLimitMb: number | undefined;
  /**
   * What to do with a micro-task running anomalously long for its type: report it (`alert`), stop
   * and retry it (`kill`), or let it run alone (`isolate`): the micro-tasks queued behind it move to
   * other swarmlets and its swarmlet gets no more work until it is done.
   */
  readonly onRunaway: 'alert' | 'kill' | 'isolate';
}

/**
 * Stops swarmlets busy past the task time limit since their last progress. The memory limit is
 * not checked here: the provider measures each swarmlet from outside (or the kernel holds it to
 * it) and stops it there. Either way the exit charges only the micro-task its black box says was
 * running; the rest of the swarmlet's micro-tasks are requeued as they were.
 */
export function enforceHardLimits(
  swarmlets: Iterable<SwarmletRecord>,
  limits: HardLimits,
  nowMs: number,
  kill: (swarmletId: string, reason: string) => void,
  runningOf: (swarmlet: SwarmletRecord) => number | undefined,
  labelOf: (taskId: number) => string | undefined,
): void {
  if (limits.taskTimeoutMs === undefined) return;
  for (const swarmlet of swarmlets) {
    if (swarmlet.state === 'stopped' || swarmlet.limitCulprit !== undefined) continue;
    const running = runningOf(swarmlet);
    const elapsedMs = nowMs - swarmlet.progressAtMs;
    if (running === undefined || elapsedMs <= limits.taskTimeoutMs) continue;
    swarmlet.limitCulprit = running;
    const label = labelOf(running) ?? running;
    kill(
      swarmlet.id,
      `was stopped: micro-task ${label} ran ${Math.round(elapsedMs)} ms, past its time limit of ${limits.taskTimeoutMs} ms`,
    );
  }
}

/**
 * Which orphan of an exited swarmlet pays an attempt: the one its black box says it was running
 * (none if that one had already reported: the exit came between micro-tasks). Without a box, the
 * micro-task a hard limit named, else the oldest in flight (the host runs them in order).
 */
export function culpritOf(
  orphans: readonly number[],
  lastStarted: number | null | undefined,
  limitCulprit: number | undefined,
): number | undefined {
  if (lastStarted === null) return undefined;
  if (lastStarted !== undefined) return orphans.includes(lastStarted) ? lastStarted : undefined;
  if (limitCulprit !== undefined) return orphans.includes(limitCulprit) ? limitCulprit : undefined;
  return orphans[0];
}

/** Flags (and with `kill`, stops) running micro-tasks whose elapsed time is anomalous for their type. */
export function watchRunaways(
  swarmlets: Iterable<SwarmletRecord>,
  taskOf: (id: number) => MicroTask | undefined,
  usage: UsageTracker,
  nowMs: number,
  startedAtMs: number,
  onRunaway: HardLimits['onRunaway'],
  kill: (swarmletId: string, reason: string) => void,
  isolate: (swarmlet: SwarmletRecord, runningId: number) => void,
): void {
  for (const swarmlet of swarmlets) {
    if (swarmlet.state !== 'busy' || swarmlet.limitCulprit !== undefined || swarmlet.isolated) continue;
    const running = swarmlet.inFlight.values().next().value as number | undefined;
    const task = running === undefined ? undefined : taskOf(running);
    if (!task) continue;
    const elapsedMs = nowMs - swarmlet.progressAtMs;
    const atMs = nowMs - startedAtMs;
    const event = usage.running(task.taskType, task.id, task.label, elapsedMs, atMs, task.input, phaseOf(task.mode));
    if (!event || onRunaway === 'alert') continue;
    if (onRunaway === 'isolate') {
      isolate(swarmlet, task.id);
      continue;
    }
    swarmlet.limitCulprit = task.id;
    kill(
      swarmlet.id,
      `was stopped: micro-task ${task.label} ran ${event.ratio.toFixed(1)}× its predicted duration (anomaly)`,
    );
  }
}

/**
 * `onRunaway: 'isolate'`: a runaway keeps its swarmlet to itself. What was queued behind it is taken
 * off the swarmlet (the caller requeues it for other swarmlets now) and the host is told to skip
 * those (it sees the message once the runaway ends); a result it still sends for one is ignored,
 * so each micro-task is recorded once. Returns the moved ids.
 */
export function isolateRunaway(
  swarmlet: SwarmletRecord,
  runningId: number,
  drop: (swarmletId: string, taskIds: number[]) => void,
): number[] {
  const moved = [...swarmlet.inFlight].filter((id) => id !== runningId);
  swarmlet.isolated = true;
  for (const id of moved) swarmlet.inFlight.delete(id);
  if (moved.length > 0) drop(swarmlet.id, moved);
  return moved;
}

/** Admission by class on the predicted backlog: queued micro-tasks × predicted duration ÷ serving swarmlets. */
export function admitJob(
  priority: PriorityName,
  queued: ReadonlyMap<string, number>,
  predictedMs: (taskType: string) => number,
  workers: number,
  limits: AdmissionLimits,
): AdmissionDecision {
  let size = 0;
  let backlogCostMs = 0;
  for (const [taskType, count] of queued) {
    size += count;
    backlogCostMs += count * predictedMs(taskType);
  }
  return admit(
    { size, capacity: Number.MAX_SAFE_INTEGER, backlogCostMs, workers },
    { priorityClass: priority, costMs: 0 },
    limits,
  );
}

/** Share of the machine's memory all swarmlets together may hold when no limit is given. */
const DEFAULT_MACHINE_SHARE = 0.75;
const DEFAULT_LIMIT_FLOOR_MB = 256;

/**
 * The memory limit per swarmlet when the user sets none: together, `maxSwarmlets` swarmlets at
 * their limit still leave a quarter of the machine to everything else, so one runaway task cannot
 * take the machine down.
 */
export function defaultSwarmletMemoryLimitMb(machineMb: number, maxSwarmlets: number): number {
  return Math.max(DEFAULT_LIMIT_FLOOR_MB, Math.floor((machineMb * DEFAULT_MACHINE_SHARE) / maxSwarmlets));
}
