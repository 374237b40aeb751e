import { z } from 'zod';
import { InputError } from './errors.js';
import { LIMITS, PRIORITIES } from './limits.js';
import { fieldPath, checkJsonValue, previewValue } from './json-input.js';
import { fixText, jobFixValue, valueAt } from './job-fixes.js';

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

const SHAPES = 'submit either { type, input } or { tasks: [{ id, type, input, deps? }] }';

/**
 * Validates a job at the edge; errors name the field, the bad value and a fix (as text, and as a
 * value for the field: `exampleType`, a task type the caller knows, fills in a missing type).
 */
export function parseJob(raw: unknown, exampleType = 'my-task'): Job {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw notAJob(raw, exampleType);
  // Before zod reads it: a getter that throws, a cycle or a BigInt is bad input, not a crash.
  checkJsonValue(raw, 'job');
  // Fast path: parse the one form the input claims to be (a union tries both); errors take the full path.
  const form = 'tasks' in raw ? dagForm : 'type' in raw ? singleForm : undefined;
  const quick = form?.safeParse(raw);
  if (quick?.success) return quick.data;
  const result = jobSchema.safeParse(raw, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is missing' : undefined),
  });
  if (result.success) return result.data;
  const issue = pickIssue(result.error.issues, raw);
  const field = issue.path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : fieldPath(name, String(key))),
    'job',
  );
  const fixValue = jobFixValue(issue.path, issue.unknownKey, exampleType);
  const got =
    issue.unknownKey || issue.message === 'is missing' ? '' : ` (got ${previewValue(valueAt(raw, issue.path))})`;
  throw new InputError(field, `${issue.message}${got}`, `${fixText(field, fixValue)}; ${SHAPES}`, fixValue);
}

function notAJob(raw: unknown, exampleType: string): InputError {
  const fixValue = { value: { type: exampleType, input: null } };
  const problem = raw === undefined ? 'is missing' : `expected an object, got ${previewValue(raw)}`;
  return new InputError('job', problem, `${fixText('job', fixValue)}; ${SHAPES}`, fixValue);
}

/**
 * Union errors bury the useful message: report the first issue of the branch the input's shape
 * asks for (`tasks` present: the DAG form, else the single form), with unknown keys in the path.
 */
function pickIssue(
  issues: readonly z.core.$ZodIssue[],
  raw: object,
): { path: PropertyKey[]; message: string; unknownKey: boolean } {
  let issue = issues[0];
  let prefix: PropertyKey[] = [];
  if (issue?.code === 'invalid_union') {
    prefix = [...issue.path];
    issue = issue.errors['tasks' in raw ? 1 : 0]?.[0] ?? issue; // branch order of jobSchema
  }
  if (!issue) return { path: [], message: 'invalid job', unknownKey: false };
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys')
    return {
      path: [...path, issue.keys[0]!],
      message: `is not a known field (unknown: ${issue.keys.join(', ')})`,
      unknownKey: true,
    };
  return { path, message: issue.message, unknownKey: false };
}

export function priorityValue(job: Job): number {
  return PRIORITIES[job.priority];
}
