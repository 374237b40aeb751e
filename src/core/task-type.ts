import type { Resources } from './resources.js';

/** What a running micro-task can see about itself. */
export interface TaskContext {
  /** Micro-task id inside its job. */
  readonly id: string;
  /** Split depth: 0 for a job's own micro-tasks. */
  readonly depth: number;
  /** 1 on the first try. */
  readonly attempt: number;
  /** Outputs of the micro-tasks this one depends on, by id. */
  readonly deps: Readonly<Record<string, unknown>>;
}

/** A child a `split` returns: an input for the same task type, or another type, optionally with sibling deps. */
export interface SplitChild {
  readonly input: unknown;
  readonly type?: string;
  readonly id?: string;
  readonly deps?: readonly string[];
}

/** What a task type may ask of its sandbox (see TaskDefinition.permissions). */
export const TASK_PERMISSIONS = ['network'] as const;
export type TaskPermission = (typeof TASK_PERMISSIONS)[number];

/**
 * A task type: a named handler module. `split` may break an input into children (recursively);
 * when it does, `join` (if given) combines the children's outputs, else the output is their array.
 */
export interface TaskDefinition<I = unknown, O = unknown> {
  readonly name: string;
  run(input: I, context: TaskContext): O | Promise<O>;
  split?(input: I, context: TaskContext): readonly SplitChild[] | undefined | null;
  join?(outputs: unknown[], input: I, context: TaskContext): O | Promise<O>;
  /** Runs once when a swarmlet loads the type, before any micro-task: load caches, JIT hot paths. */
  warmup?(): void | Promise<void>;
  /** Hints for the scheduler until measurements exist. */
  readonly resources?: Partial<Resources & { durationMs: number }>;
  /**
   * What the type asks of a sandbox beyond running its own code (signed with its bundle in a cluster): `network` lets
   * a sandboxed swarmlet (bwrap) reach the network. Undeclared, it has none there.
   */
  readonly permissions?: readonly TaskPermission[];
  /**
   * The size of an input (e.g. bytes to process), called by the director: the usage model learns
   * how this type's cost grows with it, so predictions follow each micro-task's size. Keep it cheap.
   */
  size?(input: I): number;
  /**
   * Stateful types (give both or neither): `snapshot` returns the state this module keeps between
   * micro-tasks as JSON data (it may be async); `restore` puts a snapshot back. Swarmlet takes a
   * snapshot when a swarmlet stops serving the type (stopped, consolidated, specialized away or
   * migrated) and restores the type's latest snapshot in the next swarmlet that serves it.
   */
  snapshot?(): unknown;
  restore?(state: unknown): void | Promise<void>;
}
