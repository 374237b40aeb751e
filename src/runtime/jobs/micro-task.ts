import type { MODE_JOIN, MODE_RUN } from '../local/ipc.js';

const NO_IDS: number[] = [];

/** A micro-task's place in its life: waiting on deps, queued, running, waiting on its split children, or ended. */
export type MicroTaskStatus = 'blocked' | 'ready' | 'running' | 'split' | 'done' | 'failed';

/** One micro-task of a job, as the director tracks it. Ids are numbers on the hot path; `label` is the user's id. */
export class MicroTask {
  status: MicroTaskStatus = 'blocked';
  output: unknown = undefined;
  remainingDeps: number;
  /** Allocated on first use: most micro-tasks have no dependents and never split. */
  dependents: number[] | undefined;
  /** For a split parent: its children, in order, and how many are not done yet. */
  children: number[] = NO_IDS;
  pendingChildren = 0;
  /** Its output is (part of) the job's output. */
  isResult = false;

  constructor(
    readonly id: number,
    readonly jobId: number,
    readonly label: string,
    readonly taskType: string,
    public input: unknown,
    readonly depth: number,
    readonly deps: readonly number[],
    /** The split parent this task is a child of, or -1. */
    readonly parent: number,
    public mode: typeof MODE_RUN | typeof MODE_JOIN,
  ) {
    this.remainingDeps = deps.length;
  }
}
