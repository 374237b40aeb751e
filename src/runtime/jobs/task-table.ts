import type { MicroTask } from './micro-task.js';

interface Block {
  readonly firstId: number;
  readonly tasks: (MicroTask | undefined)[];
  live: number;
}

/**
 * Micro-tasks by id. Ids are handed out in consecutive runs (a job's DAG, a split's children), so
 * each run is stored as one array: adding a 300k-task job costs one push instead of 300k map
 * inserts, and a lookup is a binary search over the few live runs plus an index.
 */
export class TaskTable {
  private blocks: Block[] = [];

  /** Adds a run of tasks whose ids are firstId, firstId + 1, … (ids only grow between calls). */
  addRun(firstId: number, tasks: MicroTask[]): void {
    if (tasks.length > 0) this.blocks.push({ firstId, tasks, live: tasks.length });
  }

  /** Tasks held (not yet released). */
  get size(): number {
    return this.blocks.reduce((sum, block) => sum + block.live, 0);
  }

  get(id: number): MicroTask | undefined {
    const block = this.blockOf(id);
    return block?.tasks[id - block.firstId];
  }

  delete(id: number): void {
    const block = this.blockOf(id);
    if (!block || block.tasks[id - block.firstId] === undefined) return;
    block.tasks[id - block.firstId] = undefined;
    if (--block.live === 0) this.blocks = this.blocks.filter((b) => b !== block);
  }

  private blockOf(id: number): Block | undefined {
    let low = 0;
    let high = this.blocks.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const block = this.blocks[middle]!;
      if (id < block.firstId) high = middle - 1;
      else if (id >= block.firstId + block.tasks.length) low = middle + 1;
      else return block;
    }
    return undefined;
  }
}
