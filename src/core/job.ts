import { z } from 'zod';
import { InputError } from './errors.js';
import { LIMITS, PRIORITIES } from './limits.js';

const priority = z.enum(['low', 'normal', 'high']).default('normal');
const owner = z.string().min(1).max(200).default('default');
/** Names "the same job" across runs (with the owner), so history can pre-warm what it needs. */
const name = z.string().min(1).max(200).optional();
/** The job should finish within this long of its submission (its SLA); reported met or missed. */
const deadlineMs = z
  .number()
  .positive()
  .max(7 * 24 * 3_600_000)
  .optional();

const singleJob = z.object({
  type: z.string().min(1),
  input: z.unknown().optional(),
  priority,
  owner,
  name,
  deadlineMs,
});

const dagTask = z.object({
  id: z.string().min(1).max(500),
  type: z.string().min(1),
  input: z.unknown().optional(),
  deps: z.array(z.string()).default([]),
});

const dagJob = z.object({
  tasks: z.array(dagTask.strict()).min(1).max(LIMITS.maxMicroTasksPerJob),
  priority,
  owner,
  name,
  deadlineMs,
});

const singleForm = singleJob.strict();
const dagForm = dagJob.strict();

/** A job as a user submits it: one root micro-task, or an explicit DAG of micro-tasks. */
export const jobSchema = z.union([singleForm, dagForm]);
export type JobInput = z.input<typeof jobSchema>;
export type Job = z.output<typeof jobSchema>;
export type DagTask = z.output<typeof dagTask>;

/** Validates a job at the edge; errors name the field and the fix. */
export function parseJob(raw: unknown): Job {
  // Fast path: parse the one form the input claims to be (a union tries both); errors take the full path.
  const form =
    typeof raw === 'object' && raw !== null
      ? 'tasks' in raw
        ? dagForm
        : 'type' in raw
          ? singleForm
          : undefined
      : undefined;
  const quick = form?.safeParse(raw);
  if (quick?.success) return quick.data;
  const result = jobSchema.safeParse(raw, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is missing' : undefined),
  });
  if (result.success) return result.data;
  const shapeHint = 'submit either { type, input } or { tasks: [{ id, type, input, deps? }] }';
  const issue = pickIssue(result.error.issues, raw);
  const field = issue.path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : `${name}.${String(key)}`),
    'job',
  );
  throw new InputError(field, issue.message, shapeHint);
}

/**
 * Union errors bury the useful message: report the first issue of the branch the input's shape
 * asks for (`tasks` present: the DAG form, else the single form), with unknown keys in the path.
 */
function pickIssue(issues: readonly z.core.$ZodIssue[], raw: unknown): { path: PropertyKey[]; message: string } {
  let issue = issues[0];
  let prefix: PropertyKey[] = [];
  if (issue?.code === 'invalid_union') {
    const wantsDag = typeof raw === 'object' && raw !== null && 'tasks' in raw;
    prefix = [...issue.path];
    issue = issue.errors[wantsDag ? 1 : 0]?.[0] ?? issue; // branch order of jobSchema
  }
  if (!issue) return { path: [], message: 'invalid job' };
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys')
    return { path: [...path, issue.keys[0]!], message: `is not a known field (unknown: ${issue.keys.join(', ')})` };
  return { path, message: issue.message };
}

export function priorityValue(job: Job): number {
  return PRIORITIES[job.priority];
}
