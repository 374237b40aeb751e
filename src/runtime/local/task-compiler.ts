import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { TaskModuleError } from '../../core/errors.js';
import { TASK_PERMISSIONS, type TaskDefinition, type TaskPermission } from '../../core/task-type.js';
import { MODULE_LOAD_TIMEOUT_MS, moduleLoadProblem } from './module-check.js';
import { packageRoot } from './package-root.js';

/** A task type as the director knows it: its compiled module (what swarmlets load) and its declared shape. */
export interface TaskTypeInfo {
  readonly name: string;
  readonly sourcePath: string;
  readonly modulePath: string;
  readonly hasJoin: boolean;
  readonly hintDurationMs: number | undefined;
  /** The type's declared CPU (cores) and memory (MB) while it runs, if any. */
  readonly hintCpu?: number;
  readonly hintMemoryMb?: number;
  /** What it asks of a sandbox (checked: only known permissions). */
  readonly permissions: readonly TaskPermission[];
  /** The definition's `size` hook, if any (a feature for the usage model). */
  readonly sizeOf: ((input: unknown) => number) | undefined;
}

/**
 * Compiles a task module (TypeScript or JavaScript) once, with esbuild, into one plain ESM file
 * in the cache, so no swarmlet ever pays for a TypeScript loader at cold start. The file name
 * carries a hash of the output: unchanged sources reuse the cached file.
 */
export async function compileTaskModule(
  sourcePath: string,
  cacheDir: string,
  loadTimeoutMs = MODULE_LOAD_TIMEOUT_MS,
): Promise<TaskTypeInfo> {
  const modulePath = await compileModule(sourcePath, cacheDir);
  const problem = await moduleLoadProblem(modulePath, loadTimeoutMs, basename(sourcePath));
  if (problem !== undefined) throw new TaskModuleError(sourcePath, `${problem}. Fix: ${LOAD_FIX}`);
  const definition = await importDefinition(sourcePath, modulePath);
  return {
    name: definition.name,
    sourcePath: resolve(sourcePath),
    modulePath,
    hasJoin: typeof definition.join === 'function',
    hintDurationMs: definition.resources?.durationMs,
    hintCpu: definition.resources?.cpu,
    hintMemoryMb: definition.resources?.memoryMb,
    sizeOf: definition.size?.bind(definition),
    permissions: permissionsOf(sourcePath, definition),
  };
}

/** The permissions a definition declares, or a TaskModuleError naming the unknown one. */
function permissionsOf(sourcePath: string, definition: TaskDefinition): readonly TaskPermission[] {
  const declared: unknown = definition.permissions ?? [];
  const known = TASK_PERMISSIONS as readonly unknown[];
  if (!Array.isArray(declared) || !declared.every((permission) => known.includes(permission)))
    throw new TaskModuleError(
      sourcePath,
      `permissions = ${JSON.stringify(declared)} is not a list of known permissions. Fix: permissions: ['network'] (or leave it out)`,
    );
  return [...new Set(declared as TaskPermission[])];
}

/** What a module that fails to load should do instead. */
export const LOAD_FIX = 'keep its top level short and let it throw an Error; long work belongs in run() or warmup()';

/** Bundles a TypeScript or JavaScript module into one cached ESM file; returns its path. */
export async function compileModule(sourcePath: string, cacheDir: string): Promise<string> {
  const absolute = resolve(sourcePath);
  if (!existsSync(absolute))
    throw new TaskModuleError(
      sourcePath,
      'file not found. Fix: check the path (relative paths resolve from the current directory)',
    );
  let code: string;
  try {
    const result = await build({
      entryPoints: [absolute],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      treeShaking: true,
      // Node built-ins and npm packages stay imports; the module's own files and `swarmlet` are bundled.
      packages: 'external',
      plugins: [bundleSwarmlet()],
    });
    code = result.outputFiles[0]!.text;
  } catch (error) {
    throw new TaskModuleError(sourcePath, firstLine(error));
  }
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  await mkdir(cacheDir, { recursive: true });
  const modulePath = join(cacheDir, `${basename(absolute).replace(/\.[cm]?[jt]s$/, '')}-${hash}.mjs`);
  if (!existsSync(modulePath) || (await readFile(modulePath, 'utf8')) !== code) await writeFile(modulePath, code);
  return modulePath;
}

async function importDefinition(sourcePath: string, modulePath: string): Promise<TaskDefinition> {
  let module: { default?: TaskDefinition };
  try {
    module = (await import(pathToFileURL(modulePath).href)) as { default?: TaskDefinition };
  } catch (error) {
    throw new TaskModuleError(sourcePath, firstLine(error));
  }
  const definition = module.default;
  if (!definition || typeof definition.name !== 'string' || typeof definition.run !== 'function') {
    throw new TaskModuleError(
      sourcePath,
      'it has no default export made with defineTask({ name, run }). Fix: `export default defineTask({ name: "my-task", run(input) { ... } })`',
    );
  }
  return definition;
}

/**
 * `import { defineTask } from 'swarmlet'` inside a task or job module resolves to our small authoring entry, bundled.
 */
export function bundleSwarmlet() {
  return {
    name: 'swarmlet-self',
    setup(builder: { onResolve: (options: { filter: RegExp }, callback: () => { path: string }) => void }) {
      builder.onResolve({ filter: /^swarmlet$/ }, () => ({ path: authoringSource() }));
    },
  };
}

function authoringSource(): string {
  const path = join(packageRoot(), 'src', 'authoring.ts');
  if (!existsSync(path)) throw new Error('swarmlet: cannot find src/authoring.ts to bundle into task modules');
  return path;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').slice(0, 3).join(' ').trim();
}
