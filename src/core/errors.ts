/**
 * Three kinds of failure (STYLE.md §10):
 * - "no data yet" is a value, never an error;
 * - operational errors say whether a retry helps (`retryable`);
 * - broken invariants use `node:assert`-style crashes (outside pure folders: `invariant` below).
 */

/**
 * What a fix puts in the field, so a tool (or a test) can apply it and try again: a value the field
 * accepts, or `remove` to drop the field (an unknown key, a bad array entry).
 */
export type FixValue = { readonly value: unknown } | 'remove';

/** Bad input from a user: names the field, the bad value and the fix. Never retryable. */
export class InputError extends Error {
  readonly field: string;
  readonly fix: string;
  /** The fix as data, when it is one value for the field (the same one the fix's text gives). */
  readonly fixValue: FixValue | undefined;
  constructor(field: string, problem: string, fix: string, fixValue?: FixValue) {
    super(fix === '' ? `${field}: ${problem}` : `${field}: ${problem}. Fix: ${fix}`);
    this.name = 'InputError';
    this.field = field;
    this.fix = fix;
    this.fixValue = fixValue;
  }

  /** For messages user code already wrote with the field and the fix in them (e.g. a job's build()). */
  static preformatted(field: string, message: string): InputError {
    return new InputError(field, message, '');
  }
}

/** Admission control refused a job under overload; retrying after `retryAfterMs` may succeed. */
export class AdmissionError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(
      `job refused by admission control: ${message}${retryAfterMs === undefined ? '' : `; retry in ${Math.ceil(retryAfterMs / 1000)} s`}`,
    );
    this.name = 'AdmissionError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** A micro-task failed for good (retries exhausted); carries the task's own message and stack. */
export class TaskFailedError extends Error {
  readonly taskType: string;
  readonly taskId: string;
  readonly attempts: number;
  readonly taskStack: string | undefined;
  constructor(taskType: string, taskId: string, attempts: number, message: string, taskStack?: string) {
    super(`micro-task ${taskId} (${taskType}) failed after ${attempts} attempt(s): ${message}`);
    this.name = 'TaskFailedError';
    this.taskType = taskType;
    this.taskId = taskId;
    this.attempts = attempts;
    this.taskStack = taskStack;
  }
}

/** The job was cancelled (by its id, from the API or the CLI) before it finished. */
export class JobCancelledError extends Error {
  readonly jobId: number;
  constructor(jobId: number) {
    super(`job ${jobId} was cancelled`);
    this.name = 'JobCancelledError';
    this.jobId = jobId;
  }
}

/** A task-type module could not be loaded in a swarmlet (syntax error, missing export...). */
export class TaskModuleError extends Error {
  readonly modulePath: string;
  constructor(modulePath: string, message: string) {
    super(`cannot load task module ${modulePath}: ${message}`);
    this.name = 'TaskModuleError';
    this.modulePath = modulePath;
  }
}

/** Broken invariant: a bug in Swarmlet, crash loudly. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

/**
 * A bug in Swarmlet itself surfaced while it worked on a job: only that job fails, and the message
 * says so (with the job), so it is reported to us rather than blamed on the user's tasks.
 */
export class SwarmletBugError extends Error {
  readonly jobId: number | undefined;
  constructor(jobId: number | undefined, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(
      `internal error in Swarmlet${jobId === undefined ? '' : ` while running job ${jobId}`}: ${message} ` +
        '(a Swarmlet bug, not your task: please report it with SWARMLET_DEBUG=1 output)',
    );
    this.name = 'SwarmletBugError';
    this.jobId = jobId;
    if (cause instanceof Error) this.stack = `${this.name}: ${this.message}\n${cause.stack ?? ''}`;
  }
}
