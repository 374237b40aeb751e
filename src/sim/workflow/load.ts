import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../core/errors.js';
import { previewValue } from '../../core/json-input.js';
import { valueAt } from '../../core/job-fixes.js';

/**
 * Loader for recorded workflow executions in WfCommons' WfFormat 1.5 (the WfInstances collection in
 * ../shared/traces/wfcommons, see its README): one file is one run of one workflow, a DAG of tasks
 * with what each measured when it ran.
 *
 * What we read, and nothing else: `workflow.specification.tasks[]` (`id`, `name`, `parents`) and
 * `workflow.execution.tasks[]` (`id`, `runtimeInSeconds`, `avgCPU`, `memoryInBytes`), plus the
 * recorded `makespanInSeconds`. Dependencies come from `parents` only (`children` mirrors them in
 * every shared file). A task's type is its name without the `_ID…` suffix (`mProject_ID0000001` →
 * `mProject`). A runtime of 0 or none is a measured zero, counted in `notes`; CPU and memory may be
 * absent (whole families record no memory), which `notes` counts too.
 */
export interface WorkflowTask {
  readonly id: string;
  readonly type: string;
  /** Position of `type` in `Workflow.types`. */
  readonly typeIndex: number;
  /** Positions in `Workflow.tasks`, without duplicates. */
  readonly parents: readonly number[];
  readonly children: readonly number[];
  /** runtimeInSeconds × 1000 (the traces keep up to µs); 0 when recorded as 0 or absent. */
  readonly runtimeMs: number;
  /** avgCPU ÷ 100: the cores it kept busy on average (may exceed 1); undefined when not recorded. */
  readonly cpuCores: number | undefined;
  /** Peak memoryInBytes in MB of 1,048,576 bytes (as the runtime counts RSS); undefined when not recorded. */
  readonly memoryMb: number | undefined;
}

export interface WorkflowNotes {
  /** Tasks whose runtime is 0 or absent in the trace: replayed as measured zeros. */
  readonly zeroRuntimeTaskIds: readonly string[];
  readonly missingCpu: number;
  readonly missingMemory: number;
}

export interface Workflow {
  /** The file's name without `.json` (e.g. `montage-chameleon-2mass-005d-001`). */
  readonly name: string;
  /** The file name up to its first `-` (`montage`, `1000genome`, `srasearch`, `blast`); the files' `name` varies. */
  readonly family: string;
  readonly file: string;
  /** Task types in order of first appearance in the file. */
  readonly types: readonly string[];
  readonly tasks: readonly WorkflowTask[];
  /** Task positions in a topological order (parents first). */
  readonly order: Int32Array;
  /** What the real run took on its real machines, scheduling overheads included; undefined when absent. */
  readonly recordedMakespanMs: number | undefined;
  readonly notes: WorkflowNotes;
}

/** A workflow file that cannot be replayed: names the file, the field, the bad value and the fix. */
export class WorkflowFileError extends InputError {
  readonly file: string;
  constructor(file: string, field: string, problem: string, fix: string) {
    super(field, problem, fix);
    this.name = 'WorkflowFileError';
    this.file = file;
    this.message = `${file}: ${this.message}`;
  }
}

/** Far above the largest shared instance (2,122 tasks); a bound so a bad file cannot exhaust memory. */
export const MAX_WORKFLOW_TASKS = 1_000_000;
/** Far above the largest shared file (about 4 MB); a bound on what one file may make us read and parse. */
export const MAX_WORKFLOW_FILE_BYTES = 512 * 1024 * 1024;
const SUPPORTED_VERSION = '1.5';

const seconds = z.number().finite().nonnegative();
const specificationTaskSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  parents: z.array(z.string()),
});
const executionTaskSchema = z.object({
  id: z.string().min(1),
  runtimeInSeconds: seconds.optional(),
  avgCPU: z.number().finite().nonnegative().optional(),
  memoryInBytes: z.number().finite().nonnegative().optional(),
});
const fileSchema = z.object({
  schemaVersion: z.literal(SUPPORTED_VERSION),
  workflow: z.object({
    specification: z.object({ tasks: z.array(specificationTaskSchema).min(1).max(MAX_WORKFLOW_TASKS) }),
    execution: z.object({
      makespanInSeconds: seconds.optional(),
      tasks: z.array(executionTaskSchema).max(MAX_WORKFLOW_TASKS),
    }),
  }),
});
type WfFile = z.infer<typeof fileSchema>;

/** Fixes by field, array indices dropped. */
const FIXES: Readonly<Record<string, string>> = {
  schemaVersion: `give a WfFormat ${SUPPORTED_VERSION} instance (as in ../shared/traces/wfcommons); other versions lay out tasks differently`,
  'workflow.specification.tasks': 'give at least one task in workflow.specification.tasks',
  'workflow.specification.tasks.id': 'give every task a unique, non-empty id',
  'workflow.specification.tasks.name': 'give every task a name of the form <type>_ID<number>',
  'workflow.specification.tasks.parents': 'list the ids of the tasks it depends on ([] for none)',
  'workflow.execution.tasks.id': 'give every execution record the id of its task in workflow.specification.tasks',
  'workflow.execution.tasks.runtimeInSeconds':
    'record the runtime in seconds, a number ≥ 0 (0 or absent: measured zero)',
  'workflow.execution.tasks.avgCPU': 'record avgCPU as a percent of one core ≥ 0, or leave it out',
  'workflow.execution.tasks.memoryInBytes': 'record the peak memory in bytes ≥ 0, or leave it out',
  'workflow.execution.makespanInSeconds': 'record the makespan in seconds, a number ≥ 0, or leave it out',
};
const DEFAULT_FIX = 'see the WfFormat 1.5 fields listed in ../shared/traces/wfcommons/README.md';

/** Loads one WfFormat file, or every `.json` under a directory (recursively, in name order). */
export async function loadWorkflows(path: string): Promise<Workflow[]> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      'workflow',
      `${path} cannot be read (${error.code ?? error.message})`,
      'give a WfFormat .json file or a directory of them',
    );
  });
  if (!info.isDirectory()) return [await loadWorkflowFile(path)];
  const files = await jsonFilesUnder(path);
  if (files.length === 0)
    throw new InputError(
      'workflow',
      `${path} holds no .json file`,
      'give a directory of WfFormat .json files, e.g. ../shared/traces/wfcommons',
    );
  return Promise.all(files.map((file) => loadWorkflowFile(file)));
}

async function jsonFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await jsonFilesUnder(full)));
    else if (entry.name.endsWith('.json')) files.push(full);
  }
  return files;
}

export async function loadWorkflowFile(file: string): Promise<Workflow> {
  const text = await readWorkflowText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new WorkflowFileError(file, '(file)', `is not JSON (${message})`, 'give a WfFormat 1.5 .json file');
  }
  return parseWorkflow(raw, file);
}

async function readWorkflowText(file: string): Promise<string> {
  const unreadable = (error: NodeJS.ErrnoException) =>
    new WorkflowFileError(
      file,
      '(file)',
      `cannot be read (${error.code ?? error.message})`,
      'give a readable WfFormat 1.5 .json file',
    );
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw unreadable(error);
  });
  if (info.size > MAX_WORKFLOW_FILE_BYTES)
    throw new WorkflowFileError(
      file,
      '(file)',
      `is ${info.size} bytes, over the ${MAX_WORKFLOW_FILE_BYTES}-byte limit`,
      'cut the workflow into smaller instances (the largest shared one is about 4 MB)',
    );
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw unreadable(error);
  });
}

/** Validates a parsed WfFormat document; `file` names it in errors and gives the workflow its name. */
export function parseWorkflow(raw: unknown, file: string): Workflow {
  // The version first: another version's layout would otherwise fail on a field, less clearly.
  const version = valueAt(raw, ['schemaVersion']);
  if (typeof version === 'string' && version !== SUPPORTED_VERSION)
    throw new WorkflowFileError(
      file,
      'schemaVersion',
      `is ${previewValue(version)}, not ${SUPPORTED_VERSION}`,
      FIXES.schemaVersion!,
    );
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw schemaError(parsed.error.issues, raw, file);
  return buildWorkflow(parsed.data, file);
}

function schemaError(issues: readonly z.core.$ZodIssue[], raw: unknown, file: string): WorkflowFileError {
  const issue = issues[0]!;
  const field = issue.path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : name === '' ? String(key) : `${name}.${String(key)}`),
    '',
  );
  const value = valueAt(raw, issue.path);
  const problem = value === undefined ? 'is missing' : `${issue.message} (got ${previewValue(value)})`;
  const fixKey = issue.path.filter((key) => typeof key !== 'number').join('.');
  return new WorkflowFileError(file, field === '' ? '(document)' : field, problem, FIXES[fixKey] ?? DEFAULT_FIX);
}

function buildWorkflow(data: WfFile, file: string): Workflow {
  const specification = data.workflow.specification.tasks;
  const index = new Map<string, number>();
  specification.forEach((task, i) => {
    if (index.has(task.id))
      throw new WorkflowFileError(
        file,
        `workflow.specification.tasks[${i}].id`,
        `duplicates the id ${previewValue(task.id)} of tasks[${index.get(task.id)}]`,
        FIXES['workflow.specification.tasks.id']!,
      );
    index.set(task.id, i);
  });
  const records = executionRecords(data, index, file);
  const types: string[] = [];
  const typeIndex = new Map<string, number>();
  const children: number[][] = specification.map(() => []);
  const parentLists = specification.map((task, i) => parentsOf(task.parents, i, index, children, file));
  const zeroRuntimeTaskIds: string[] = [];
  let missingCpu = 0;
  let missingMemory = 0;
  const tasks = specification.map((task, i): WorkflowTask => {
    const type = typeOf(task.name);
    let t = typeIndex.get(type);
    if (t === undefined) {
      t = types.push(type) - 1;
      typeIndex.set(type, t);
    }
    const record = records[i]!;
    const runtimeSeconds = record.runtimeInSeconds ?? 0;
    if (runtimeSeconds === 0) zeroRuntimeTaskIds.push(task.id);
    if (record.avgCPU === undefined) missingCpu++;
    if (record.memoryInBytes === undefined) missingMemory++;
    return {
      id: task.id,
      type,
      typeIndex: t,
      parents: parentLists[i]!,
      children: children[i]!,
      runtimeMs: runtimeSeconds * 1000,
      cpuCores: record.avgCPU === undefined ? undefined : record.avgCPU / 100,
      memoryMb: record.memoryInBytes === undefined ? undefined : record.memoryInBytes / 1_048_576,
    };
  });
  const makespan = data.workflow.execution.makespanInSeconds;
  const name = basename(file).replace(/\.json$/, '');
  return {
    name,
    family: name.split('-')[0]!,
    file,
    types,
    tasks,
    order: topologicalOrder(tasks, file),
    recordedMakespanMs: makespan === undefined ? undefined : makespan * 1000,
    notes: { zeroRuntimeTaskIds, missingCpu, missingMemory },
  };
}

/** The execution record of each specification task, by position; every task needs exactly one. */
function executionRecords(data: WfFile, index: ReadonlyMap<string, number>, file: string) {
  const execution = data.workflow.execution.tasks;
  const records: (WfFile['workflow']['execution']['tasks'][number] | undefined)[] = new Array(index.size);
  execution.forEach((record, k) => {
    const i = index.get(record.id);
    const field = `workflow.execution.tasks[${k}].id`;
    if (i === undefined)
      throw new WorkflowFileError(
        file,
        field,
        `names ${previewValue(record.id)}, which is not in workflow.specification.tasks`,
        FIXES['workflow.execution.tasks.id']!,
      );
    if (records[i] !== undefined)
      throw new WorkflowFileError(
        file,
        field,
        `is a second record of ${previewValue(record.id)}`,
        'keep one execution record per task',
      );
    records[i] = record;
  });
  const missing = records.findIndex((record) => record === undefined);
  if (missing >= 0)
    throw new WorkflowFileError(
      file,
      `workflow.specification.tasks[${missing}]`,
      `(${previewValue(data.workflow.specification.tasks[missing]!.id)}) has no record in workflow.execution.tasks`,
      'add its execution record with runtimeInSeconds (a specification without an execution cannot be replayed)',
    );
  return records as WfFile['workflow']['execution']['tasks'];
}

function parentsOf(
  parents: readonly string[],
  i: number,
  index: ReadonlyMap<string, number>,
  children: number[][],
  file: string,
): number[] {
  const positions: number[] = [];
  parents.forEach((id, j) => {
    const p = index.get(id);
    if (p === undefined)
      throw new WorkflowFileError(
        file,
        `workflow.specification.tasks[${i}].parents[${j}]`,
        `names ${previewValue(id)}, which is not a task of this workflow`,
        'remove it, or add that task',
      );
    if (p === i)
      throw new WorkflowFileError(
        file,
        `workflow.specification.tasks[${i}].parents[${j}]`,
        'is the task itself',
        'remove it',
      );
    if (positions.includes(p)) return; // a parent listed twice is one dependency
    positions.push(p);
    children[p]!.push(i);
  });
  return positions;
}

/** `mProject_ID0000001` → `mProject`; a name without the suffix is its own type. */
export function typeOf(name: string): string {
  const match = /^(.+)_ID\d+$/.exec(name);
  return match ? match[1]! : name;
}

/** Kahn's algorithm; a cycle is bad input, reported with a task on it. */
function topologicalOrder(tasks: readonly WorkflowTask[], file: string): Int32Array {
  const waiting = new Int32Array(tasks.length);
  const order = new Int32Array(tasks.length);
  let tail = 0;
  tasks.forEach((task, i) => {
    waiting[i] = task.parents.length;
    if (task.parents.length === 0) order[tail++] = i;
  });
  for (let head = 0; head < tail; head++) {
    for (const child of tasks[order[head]!]!.children) if (--waiting[child]! === 0) order[tail++] = child;
  }
  if (tail < tasks.length) {
    const stuck = taskOnCycle(tasks, waiting);
    throw new WorkflowFileError(
      file,
      `workflow.specification.tasks[${stuck}].parents`,
      `(${previewValue(tasks[stuck]!.id)}) is on a dependency cycle`,
      'remove the parent that closes the cycle',
    );
  }
  return order;
}

/** Tasks Kahn's algorithm leaves waiting are on a cycle or after one: walking up waiting parents reaches the cycle. */
function taskOnCycle(tasks: readonly WorkflowTask[], waiting: Int32Array): number {
  let at = waiting.findIndex((count) => count > 0);
  const seen = new Set<number>();
  while (!seen.has(at)) {
    seen.add(at);
    at = tasks[at]!.parents.find((parent) => waiting[parent]! > 0)!;
  }
  return at;
}
