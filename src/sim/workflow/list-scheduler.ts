import { workflowBounds } from './bounds.js';
import { IdHeap } from './id-heap.js';
import type { Workflow } from './load.js';
import type { Replay, ReplayScheduler } from './replay.js';

/**
 * `list`: the clairvoyant list scheduler, the yardstick an adaptive policy should approach.
 *
 * Published rule (Graham's list scheduling with HEFT's priorities: Topcuoglu, Hariri and Wu,
 * "Performance-effective and low-complexity task scheduling for heterogeneous computing", IEEE TPDS
 * 13(3), 2002; on identical slots HEFT's "earliest finish time" is the earliest free slot):
 * every runtime is known in advance; each task's upward rank is the longest path from its start
 * to the end of the workflow, its own runtime included; whenever a slot is free and tasks are
 * ready, the ready task of highest rank (ties: the earlier task in the file) starts at once on a
 * free slot (on identical slots every free slot is an earliest-free one). Among free slots we take
 * one already holding the task's type, so a cold start is paid only when no warm slot is free
 * (with coldStartMs = 0 this is plain list scheduling).
 *
 * All `slots` are held from time 0 to the end, untyped until their first task: a fixed pool.
 */
export function listScheduler(workflow: Workflow): ReplayScheduler {
  const { upwardRankMs } = workflowBounds(workflow);
  const negativeRank = upwardRankMs.map((rank) => -rank);
  const ready = new IdHeap(negativeRank);
  let launched = false;
  return {
    name: 'list',
    onReady(_replay, task) {
      ready.push(task);
    },
    dispatch(replay: Replay) {
      if (!launched) {
        for (let k = 0; k < replay.slots; k++) replay.launch(-1);
        launched = true;
      }
      while (ready.size > 0 && replay.idleSlots.length > 0) {
        const task = ready.pop();
        replay.assign(slotFor(replay, workflow.tasks[task]!.typeIndex), task);
      }
    },
  };
}

/** A free slot holding the type, else an untyped one, else any free slot (it cold-starts the type). */
function slotFor(replay: Replay, type: number): number {
  const warm = replay.idleSlotOfType(type);
  if (warm >= 0) return warm;
  const untyped = replay.idleSlotOfType(-1);
  return untyped >= 0 ? untyped : replay.idleSlots[replay.idleSlots.length - 1]!;
}
