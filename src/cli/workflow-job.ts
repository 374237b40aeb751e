/**
 * `swarmlet run --workflow <file> --time-scale 0.01`: a recorded workflow (WfCommons WfFormat) run for real on this
 * machine, as an ordinary job. Each task type becomes a task module whose micro-tasks burn CPU for their recorded
 * runtime × the time scale and hold their recorded memory × the memory scale; the DAG becomes the job. The files are
 * written under the cache directory, so the run goes through the same path (and summary) as any job, and the simulator
 * can be checked against it (same policy, same slots).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { loadWorkflowFile, type Workflow } from '../sim/workflow/load.js';

export interface WorkflowJobOptions {
  /** Runtime multiplier: 0.01 runs a 100 s task in 1 s. */
  readonly timeScale: number;
  /** Memory multiplier (the recorded tasks ran on machines of 48–96 cores). */
  readonly memoryScale: number;
}

/** Writes the job for one workflow file; returns the job file's path and the workflow. */
export async function writeWorkflowJob(
  file: string,
  cacheDir: string,
  options: WorkflowJobOptions,
): Promise<{ jobFile: string; workflow: Workflow }> {
  const workflow = await loadWorkflowFile(file);
  const key = createHash('sha256')
    .update(`${workflow.file}:${options.timeScale}:${options.memoryScale}`)
    .digest('hex')
    .slice(0, 12);
  const dir = join(cacheDir, 'workflows', `${safeName(workflow.name)}-${key}`);
  await mkdir(dir, { recursive: true });
  const modules = workflow.types.map((type, i) => ({ type, file: `type-${i}.mjs` }));
  for (const { type, file: moduleFile } of modules) await writeFile(join(dir, moduleFile), taskModule(type));
  const tasks = workflow.tasks.map((task) => ({
    id: task.id,
    type: task.type,
    input: {
      ms: task.runtimeMs * options.timeScale,
      mb: Math.round((task.memoryMb ?? 0) * options.memoryScale),
    },
    deps: task.parents.map((parent) => workflow.tasks[parent]!.id),
  }));
  await writeFile(join(dir, 'tasks.json'), JSON.stringify(tasks));
  const jobFile = join(dir, 'job.mjs');
  await writeFile(
    jobFile,
    jobModule(
      workflow.name,
      modules.map((m) => `./${m.file}`),
      join(dir, 'tasks.json'),
    ),
  );
  return { jobFile, workflow };
}

/** A time scale or memory scale flag's value, or an InputError naming it. */
export function scaleFlag(flag: string, value: string, example: string): number {
  const scale = Number(value);
  if (value.trim() === '' || !Number.isFinite(scale) || scale <= 0 || scale > 1000)
    throw new InputError(flag, `is "${value}", must be a number above 0 (at most 1000)`, `write ${flag} ${example}`, {
      value: example,
    });
  return scale;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
}

/** One task type: burns CPU for input.ms while holding input.mb MB (touched, so it is resident). */
function taskModule(type: string): string {
  return `import { defineTask } from 'swarmlet';

export default defineTask({
  name: ${JSON.stringify(type)},
  run(input) {
    const held = input.mb > 0 ? Buffer.alloc(input.mb * 1048576, 1) : undefined;
    const until = performance.now() + input.ms;
    let spins = 0;
    while (performance.now() < until) spins++;
    return held === undefined ? spins : spins + held[0];
  },
});
`;
}

/** The job reads its DAG by absolute path: the job file is compiled into the cache, away from its folder. */
function jobModule(name: string, modules: readonly string[], tasksFile: string): string {
  return `import { readFileSync } from 'node:fs';
import { defineJob } from 'swarmlet';

export default defineJob({
  name: ${JSON.stringify(`workflow ${name}`)},
  tasks: ${JSON.stringify(modules)},
  build() {
    return { tasks: JSON.parse(readFileSync(${JSON.stringify(tasksFile)}, 'utf8')) };
  },
});
`;
}
