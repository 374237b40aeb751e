/** The public API: declare task types and jobs; run them with a `Swarm`. */
export { defineTask } from './core/define-task.js';
export { defineJob, type JobDefinition } from './core/define-job.js';
export type { TaskDefinition, TaskContext, SplitChild } from './core/task-type.js';
export type { JobInput } from './core/job.js';
export { InputError, JobCancelledError, TaskFailedError, TaskModuleError } from './core/errors.js';
export { Swarm, type SwarmOptions } from './swarm.js';
export type { RunSummary } from './runtime/run-report.js';
export type { ProgressView } from './runtime/orchestrator.js';
export type { TaskLogLine, TaskLogQuery } from './runtime/task-log-book.js';
export { adaptivePolicy } from './decide/policies/adaptive.js';
export { staticPolicy } from './decide/policies/static.js';
