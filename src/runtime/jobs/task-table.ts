import type { MicroTask } from './micro-task.js';

/** Ids per page. Ids may pass 2^32 in a long-lived director, so pages come from division, not shifts. */
const PAGE_SLOTS = 4_096;
const pageOf = (id: number): number => Math.floor(id / PAGE_SLOTS);

interface Page {
  readonly tasks: (MicroTask | undefined)[];
  live: number;
}

/**
 * Micro-tasks by id, in fixed pages of 4,096 ids. Ids are handed out in consecutive runs, so a run
 * fills few pages: adding, finding and deleting a task are O(1) whatever the number of runs (a
 * recursive split makes one run of two per split, hundreds of thousands of them), and a page is
 * freed as soon as its last task is deleted, so a long-lived swarm does not grow without bound.
 */
export class TaskTable {
  private readonly pages = new Map<number, Page>();
  private held = 0;

  /** Adds a run of tasks whose ids are firstId, firstId + 1, … (ids not held already). */
  addRun(firstId: number, tasks: readonly MicroTask[]): void {
    let page: Page | undefined;
    for (let i = 0; i < tasks.length; i++) {
      const id = firstId + i;
      if (page === undefined || id % PAGE_SLOTS === 0) page = this.pageFor(pageOf(id));
      page.tasks[id % PAGE_SLOTS] = tasks[i];
      page.live += 1;
    }
    this.held += tasks.length;
  }

  /** Tasks held (not yet released). */
  get size(): number {
    return this.held;
  }

  get(id: number): MicroTask | undefined {
    return this.pages.get(pageOf(id))?.tasks[id % PAGE_SLOTS];
  }

  delete(id: number): void {
    const page = this.pages.get(pageOf(id));
    if (page?.tasks[id % PAGE_SLOTS] === undefined) return;
    page.tasks[id % PAGE_SLOTS] = undefined;
    this.held -= 1;
    if (--page.live === 0) this.pages.delete(pageOf(id));
  }

  private pageFor(pageNumber: number): Page {
    let page = this.pages.get(pageNumber);
    if (!page) {
      page = { tasks: new Array<MicroTask | undefined>(PAGE_SLOTS).fill(undefined), live: 0 };
      this.pages.set(pageNumber, page);
    }
    return page;
  }
}
