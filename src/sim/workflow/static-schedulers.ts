import { invariant } from '../../core/errors.js';
import { workflowBounds } from './bounds.js';
import { IdHeap } from './id-heap.js';
import type { Workflow } from './load.js';
import type { Replay, ReplayScheduler } from './replay.js';

/**
 * Static splits: the slots are divided among task types once, before the run, and never change.
 * A slot serves only its type(s), so each type has its own queue (first come, first served by
 * default: see `QueueOrder`). Every slot is launched at time 0 with its
 * type (one cold start each) and held to the end, also while its type has no work yet: a type
 * that appears late still holds its share from the start. When there are fewer slots than types,
 * some slots serve several types and pay a cold start at every switch.
 */

/** Task types served by each slot. */
export type StaticSplit = readonly (readonly number[])[];

/**
 * `static-equal`: the slots split equally among the task types (Swarmlet's own `static` policy,
 * the split a user would write without knowing the workload): ⌊slots ÷ types⌋ each, and the first
 * slots mod types types in order of first appearance in the file one more. With fewer slots than
 * types, type i shares slot i mod slots.
 */
export function equalSplit(workflow: Workflow, slots: number): StaticSplit {
  const typeCount = workflow.types.length;
  if (slots < typeCount) return foldTypes(slots, typeCount, (type) => type % slots);
  const split: number[][] = [];
  for (let type = 0; type < typeCount; type++) {
    const share = Math.floor(slots / typeCount) + (type < slots % typeCount ? 1 : 0);
    for (let k = 0; k < share; k++) split.push([type]);
  }
  return split;
}

/**
 * `static-by-work`: slots per type in proportion to each type's total work, known in hindsight.
 * Rule: one slot per type, then each further slot to the type with the most work per slot held
 * (w ÷ n, ties to the earlier type) — the apportionment that minimises the largest w ÷ n, i.e.
 * the time the most loaded type needs if its tasks were all ready — never giving a type more slots
 * than it has tasks (they could never all be busy); slots no type can use are not launched.
 * With fewer slots than types, the largest-work types get a slot each and every other type shares
 * the slot with the least work so far (largest work first).
 */
export function byWorkSplit(workflow: Workflow, slots: number): StaticSplit {
  const typeCount = workflow.types.length;
  const workMs = new Float64Array(typeCount);
  const taskCount = new Int32Array(typeCount);
  for (const task of workflow.tasks) {
    workMs[task.typeIndex]! += task.runtimeMs;
    taskCount[task.typeIndex]!++;
  }
  if (slots < typeCount) return foldByWork(slots, workMs);
  const share = new Int32Array(typeCount).fill(1);
  for (let given = typeCount; given < slots; given++) {
    let best = -1;
    for (let type = 0; type < typeCount; type++) {
      if (share[type]! >= taskCount[type]!) continue;
      if (best < 0 || workMs[type]! / share[type]! > workMs[best]! / share[best]!) best = type;
    }
    if (best < 0) break;
    share[best]!++;
  }
  const split: number[][] = [];
  share.forEach((count, type) => {
    for (let k = 0; k < count; k++) split.push([type]);
  });
  return split;
}

function foldByWork(slots: number, workMs: Float64Array): StaticSplit {
  const byWork = Array.from(workMs.keys()).sort((a, b) => workMs[b]! - workMs[a]! || a - b);
  const slotWorkMs = new Float64Array(slots);
  const slotOf = new Int32Array(workMs.length);
  byWork.forEach((type, rank) => {
    let slot = rank;
    if (rank >= slots) {
      slot = 0;
      for (let k = 1; k < slots; k++) if (slotWorkMs[k]! < slotWorkMs[slot]!) slot = k;
    }
    slotOf[type] = slot;
    slotWorkMs[slot]! += workMs[type]!;
  });
  return foldTypes(slots, workMs.length, (type) => slotOf[type]!);
}

function foldTypes(slots: number, typeCount: number, slotOf: (type: number) => number): StaticSplit {
  const split: number[][] = Array.from({ length: slots }, () => []);
  for (let type = 0; type < typeCount; type++) split[slotOf(type)]!.push(type);
  return split;
}

/**
 * How a type's queue is served. `fifo`: in the order tasks became ready (what Swarmlet's broker
 * does, so a static split and an adaptive policy differ only in how they allocate swarmlets);
 * `rank`: the longest remaining path first, as `list` orders (clairvoyant: it knows every runtime).
 */
export type QueueOrder = 'fifo' | 'rank';

/** Replays a fixed split: per-type queues; a free slot takes the first task of its types' queues. */
export function staticScheduler(
  workflow: Workflow,
  name: string,
  split: StaticSplit,
  order: QueueOrder = 'fifo',
): ReplayScheduler {
  invariant(split.length > 0, 'a static split with no slot');
  // One key per task: the order it became ready in, or minus its upward rank; smaller comes first.
  const keys = new Float64Array(workflow.tasks.length);
  const rankMs = order === 'rank' ? workflowBounds(workflow).upwardRankMs : undefined;
  const queues = workflow.types.map(() => new IdHeap(keys));
  let readyCount = 0;
  let queued = 0;
  let serves: (readonly number[])[] = [];
  return {
    name,
    onReady(_replay, task) {
      keys[task] = rankMs ? -rankMs[task]! : readyCount++;
      queues[workflow.tasks[task]!.typeIndex]!.push(task);
      queued++;
    },
    dispatch(replay: Replay) {
      if (serves.length === 0) serves = launchSplit(replay, split);
      if (queued === 0) return;
      for (const slot of [...replay.idleSlots]) {
        let pick = -1;
        for (const type of serves[slot]!) {
          const head = queues[type]!.peek();
          if (head >= 0 && (pick < 0 || keys[head]! < keys[queues[pick]!.peek()]!)) pick = type;
        }
        if (pick < 0) continue;
        replay.assign(slot, queues[pick]!.pop());
        if (--queued === 0) return;
      }
    },
  };
}

function launchSplit(replay: Replay, split: StaticSplit): (readonly number[])[] {
  invariant(split.length <= replay.slots, `a split of ${split.length} slots on ${replay.slots}`);
  const serves: (readonly number[])[] = new Array(replay.slots).fill([]);
  for (const types of split) serves[replay.launch(types[0]!)] = types;
  return serves;
}
