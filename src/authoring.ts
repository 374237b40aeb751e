/**
 * What task and job modules import as `swarmlet`: only the authoring helpers, so a bundled task
 * module stays tiny and a swarmlet's cold start does not load the runtime.
 */
export { defineTask } from './core/define-task.js';
export { defineJob } from './core/define-job.js';
