import type { Workflow } from './load.js';
import { SlotState, type Replay, type ReplayScheduler } from './replay.js';

/**
 * `ray`: Ray's cluster autoscaler on one-CPU worker nodes (the v1 StandardAutoscaler loop,
 * https://docs.ray.io/en/latest/cluster/vms/user-guides/configuring-autoscaling.html):
 *
 * - every 5 s (AUTOSCALER_UPDATE_INTERVAL_S) it launches a node for each queued task that no
 *   launching node will take (the demand the cluster cannot place), up to max_workers = `slots`,
 *   with at most max(5, upscaling_speed × max(running nodes, 1)) nodes launching at once
 *   (upscaling_speed 1.0);
 * - at the same update it stops every node idle for 60 s (idle_timeout, 5 min by default in Ray,
 *   60 s as in the issue); min_workers 0.
 *
 * Ready tasks wait in one FIFO queue (Ray's scheduler does not know the DAG ahead); the oldest
 * runs on a free node that already holds its type, else on any free node, which loads the type (a
 * cold start). A node is launched holding the type of the task it was launched for.
 */
export interface RayOptions {
  readonly updateIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly upscalingSpeed: number;
  /** The floor of concurrent launches (5 in Ray). */
  readonly minLaunching: number;
}

export const RAY_DEFAULTS: RayOptions = {
  updateIntervalMs: 5_000,
  idleTimeoutMs: 60_000,
  upscalingSpeed: 1,
  minLaunching: 5,
};

export function rayScheduler(workflow: Workflow, options: RayOptions = RAY_DEFAULTS): ReplayScheduler {
  const queue: number[] = [];
  let head = 0;
  let started = false;

  function update(replay: Replay): void {
    for (const slot of [...replay.idleSlots]) {
      if (replay.nowMs - replay.slotSinceMs[slot]! >= options.idleTimeoutMs) replay.stop(slot);
    }
    let launching = 0;
    for (let slot = 0; slot < replay.slots; slot++) {
      if (replay.slotState[slot] === SlotState.starting && replay.slotTask[slot]! < 0) launching++;
    }
    const running = replay.heldSlots - launching;
    const maxLaunching = Math.max(options.minLaunching, Math.ceil(options.upscalingSpeed * Math.max(running, 1)));
    // Timers go off before the instant's dispatch: a node freed at this instant will take a queued task too.
    const unplaced = queue.length - head - launching - replay.idleSlots.length;
    const count = Math.min(unplaced, replay.slots - replay.heldSlots, maxLaunching - launching);
    // Free and launching nodes will take the oldest queued tasks; launch for the next ones, with their types.
    const first = head + launching + replay.idleSlots.length;
    for (let k = 0; k < count; k++) replay.launch(workflow.tasks[queue[first + k]!]!.typeIndex);
  }

  return {
    name: 'ray',
    onReady(_replay, task) {
      queue.push(task);
    },
    onTimer(replay) {
      update(replay);
      replay.setTimer(replay.nowMs + options.updateIntervalMs, 0);
    },
    dispatch(replay: Replay) {
      if (!started) {
        started = true;
        replay.setTimer(0, 0);
      }
      while (head < queue.length && replay.idleSlots.length > 0) {
        const task = queue[head++]!;
        const warm = replay.idleSlotOfType(workflow.tasks[task]!.typeIndex);
        replay.assign(warm >= 0 ? warm : replay.idleSlots[replay.idleSlots.length - 1]!, task);
      }
    },
  };
}
