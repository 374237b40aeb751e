import { availableParallelism, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from './core/errors.js';
import { parseJob, type JobInput } from './core/job.js';
import { LIMITS } from './core/limits.js';
import type { Policy } from './decide/policy.js';
import { DEFAULT_ADMISSION_LIMITS } from './schedule/admission.js';
import { adaptivePolicy } from './decide/policies/adaptive.js';
import { staticPolicy } from './decide/policies/static.js';
import {
  checkCacheDir,
  checkHistoryFile,
  checkJobAgainstSplit,
  checkStaticSplit,
  isPolicyObject,
  optionsError,
  POLICY_EXPECTED,
  splitRefusal,
} from './swarm-checks.js';
import { MemoryBroker } from './runtime/brokers/memory-broker.js';
import { ProcessProvider } from './runtime/local/process-provider.js';
import { wallEnvironment } from './runtime/local/wall-environment.js';
import { nodeModulesAbove, resolveSandbox, SANDBOX_CHOICES } from './runtime/local/sandbox.js';
import { compileTaskModule, type TaskTypeInfo } from './runtime/local/task-compiler.js';
import { MODULE_LOAD_TIMEOUT_MS } from './runtime/local/module-check.js';
import { JobHistory } from './runtime/job-history.js';
import { Orchestrator, type ProgressView } from './runtime/orchestrator.js';
import type { TaskLogLine, TaskLogQuery } from './runtime/task-log-book.js';
import { defaultSwarmletMemoryLimitMb } from './runtime/hard-limits.js';
import { EMPTY_HISTORY, FileHistoryStore } from './runtime/stores/history-store.js';
import type { RunSummary } from './runtime/run-report.js';
import { embeddedOperations } from './api/embedded-operations.js';
import { prometheusMetrics } from './api/metrics.js';
import { listenError, startApiServer, type ApiServer } from './api/server.js';

const optionsSchema = z
  .object({
    tasks: z.array(z.string().min(1)).min(1, 'list at least one task module'),
    maxSwarmlets: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(() => availableParallelism()),
    maxMemoryMb: z
      .number()
      .positive()
      .default(() => Math.floor(totalmem() / 2 ** 20 / 2)),
    swarmletMemoryMb: z.number().positive().default(60),
    policy: z
      .union(
        [
          z.literal('adaptive'),
          z.object({ static: z.record(z.string(), z.number().int().min(0)) }),
          z.custom<Policy>(isPolicyObject),
        ],
        { error: POLICY_EXPECTED },
      )
      .default('adaptive'),
    tickMs: z.number().int().min(5).max(60_000).default(100),
    monitorIntervalMs: z.number().int().min(10).max(60_000).default(250),
    maxAttempts: z.number().int().min(1).max(100).default(LIMITS.maxAttempts),
    /** A micro-task running longer is stopped (its swarmlet killed) and retried, then fails its job. */
    taskTimeoutMs: z.number().int().positive().optional(),
    /**
     * A swarmlet whose resident memory exceeds this is stopped; its running micro-task is retried. Held by the
     * kernel (cgroups) where the machine allows, else measured from outside. Default: ¾ of the machine's memory
     * shared among maxSwarmlets.
     */
    swarmletMemoryLimitMb: z.number().positive().optional(),
    /**
     * A micro-task running anomalously long for its type (robust statistics on its history): report it, or stop and
     * retry it.
     */
    onRunaway: z.enum(['alert', 'kill', 'isolate']).default('alert'),
    /**
     * Admission control: refuse a job of a class when the predicted backlog (queued micro-tasks ×
     * predicted duration ÷ serving swarmlets) exceeds its limit. true: defaults (low 10 s, normal
     * 30 s, high 120 s); off by default.
     */
    admission: z
      .union([
        z.boolean(),
        z.object({ low: z.number().positive(), normal: z.number().positive(), high: z.number().positive() }),
      ])
      .default(false),
    maxSplitDepth: z.number().int().min(0).max(1000).default(LIMITS.maxSplitDepth),
    maxChildrenPerSplit: z.number().int().min(1).default(LIMITS.maxChildrenPerSplit),
    maxMicroTasksPerJob: z.number().int().min(1).default(LIMITS.maxMicroTasksPerJob),
    maxPayloadBytes: z.number().int().min(1).default(LIMITS.maxPayloadBytes),
    cacheDir: z.string().min(1).default('.swarmlet/cache'),
    /** A task module whose top level takes longer to load is refused, naming the module. */
    moduleLoadTimeoutMs: z.number().int().min(100).max(600_000).default(MODULE_LOAD_TIMEOUT_MS),
    /**
     * What holds task code in (runtime/local/sandbox.ts): `auto` (bwrap where the machine runs it, else process),
     * `bwrap`, `process` (Node's permission model) or `none` (default: the code is the caller's own).
     */
    sandbox: z.enum(SANDBOX_CHOICES).default('none'),
    /**
     * Serve the HTTP API, live events, /metrics and the dashboard (README "Watch and control a run"). Loopback by
     * default; another host needs a token, and changes (submit, cancel) always do (one is made when none is given).
     */
    http: z
      .object({
        port: z.number().int().min(0).max(65_535).default(0),
        host: z.string().min(1).default('127.0.0.1'),
        token: z.string().min(16).optional(),
      })
      .strict()
      .optional(),
    /** A file where history lives between runs (job profiles for pre-warming); false (default): keep none. */
    historyFile: z.union([z.string().min(1), z.literal(false)]).default(false),
  })
  .strict();

export type SwarmOptions = z.input<typeof optionsSchema>;

/**
 * The public façade and composition root of the embedded mode: compiles task modules, wires the
 * memory broker, the process provider and the chosen policy into one orchestrator.
 *
 *     const swarm = await Swarm.start({ tasks: ['./sort.ts'] });
 *     const output = await swarm.run({ type: 'sort', input: { from: 0, to: 1e6 } });
 *     await swarm.stop();
 */
export class Swarm {
  /** The API server's address and token, when started with `http`. */
  http: { readonly url: string; readonly token: string } | undefined;
  private server: ApiServer | undefined;

  private constructor(
    private readonly orchestrator: Orchestrator,
    readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>,
    private readonly staticSplit?: Readonly<Record<string, number>>,
  ) {}

  static async start(raw: SwarmOptions): Promise<Swarm> {
    const options = parseSwarmOptions(raw);
    const memoryLimitMb =
      options.swarmletMemoryLimitMb ?? defaultSwarmletMemoryLimitMb(totalmem() / 2 ** 20, options.maxSwarmlets);
    await checkCacheDir(resolve(options.cacheDir), 'Swarm options.cacheDir');
    if (options.historyFile !== false)
      await checkHistoryFile(resolve(options.historyFile), 'Swarm options.historyFile');
    const sandbox = resolveSandbox(options.sandbox, 'Swarm options.sandbox');
    const taskTypes = await compileAll(options.tasks, resolve(options.cacheDir), options.moduleLoadTimeoutMs);
    if (typeof options.policy === 'object' && 'static' in options.policy)
      checkStaticSplit(options.policy.static, [...taskTypes.keys()], options.maxSwarmlets);
    const store =
      options.historyFile === false
        ? undefined
        : new FileHistoryStore(resolve(options.historyFile), (message) => process.emitWarning(message));
    const history = new JobHistory(store ? await store.read() : EMPTY_HISTORY, store, (message) =>
      process.emitWarning(message),
    );
    const split = typeof options.policy === 'object' && 'static' in options.policy ? options.policy.static : undefined;
    const orchestrator = new Orchestrator({
      taskTypes,
      // A fixed split runs no swarmlet of a type it gives 0: a micro-task of that type made by a split fails its job.
      ...(split && { unserved: (taskType: string) => splitRefusal(split, taskType) }),
      broker: new MemoryBroker({ clock: wallEnvironment.clock }),
      policy: choosePolicy(options.policy),
      limits: {
        maxSwarmlets: options.maxSwarmlets,
        maxMemoryMb: options.maxMemoryMb,
        swarmletMemoryMb: options.swarmletMemoryMb,
      },
      trackerLimits: options,
      maxAttempts: options.maxAttempts,
      loadTimeoutMs: options.moduleLoadTimeoutMs,
      tickMs: options.tickMs,
      environment: wallEnvironment,
      provider: (events) =>
        new ProcessProvider(events, wallEnvironment, {
          monitorIntervalMs: options.monitorIntervalMs,
          memoryLimitMb,
          // Compiled modules live in the cache; the packages they import resolve from there up.
          sandbox: { kind: sandbox, readPaths: [options.cacheDir, ...nodeModulesAbove(options.cacheDir)] },
          permissionsOf: (taskType) => taskTypes.get(taskType)?.permissions ?? [],
        }),
      history,
      hardLimits: {
        taskTimeoutMs: options.taskTimeoutMs,
        swarmletMemoryLimitMb: memoryLimitMb,
        onRunaway: options.onRunaway,
      },
      cores: availableParallelism(),
      admission:
        options.admission === false
          ? undefined
          : options.admission === true
            ? DEFAULT_ADMISSION_LIMITS
            : { maxBacklogMs: options.admission },
    });
    orchestrator.start();
    const swarm = new Swarm(orchestrator, taskTypes, split);
    if (options.http) await swarm.serve(options.http);
    return swarm;
  }

  private async serve(http: { port: number; host: string; token?: string }): Promise<void> {
    const operations = embeddedOperations({
      orchestrator: this.orchestrator,
      taskTypes: [...this.taskTypes.keys()],
      clock: wallEnvironment.clock,
      ...(this.staticSplit && { check: (job) => checkJobAgainstSplit(job, this.staticSplit!) }),
    });
    try {
      const { scrape } = prometheusMetrics(operations);
      this.server = await startApiServer({ ...http, operations, environment: wallEnvironment, metrics: scrape });
    } catch (error) {
      await this.orchestrator.stop();
      throw listenError(error, http);
    }
    this.http = { url: this.server.url, token: this.server.token };
  }

  /** Submits a job and resolves with its output; rejects with InputError (bad job) or TaskFailedError. */
  run(job: JobInput): Promise<unknown> {
    try {
      return this.submit(job).done;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Submits a job and gives its id at once (to follow it in `jobs()` or cancel it); `done` settles as `run` does.
   * Throws InputError for a bad job.
   */
  submit(job: JobInput): { jobId: number; done: Promise<unknown> } {
    const parsed = parseJob(job, [...this.taskTypes.keys()].sort()[0]);
    if (this.staticSplit) checkJobAgainstSplit(parsed, this.staticSplit);
    return this.orchestrator.accept(parsed);
  }

  /**
   * Cancels a running job: its waiting micro-tasks are removed, its `done` rejects with JobCancelledError, no other
   * job is touched. Resolves false when no such job is running.
   */
  cancel(jobId: number): Promise<boolean> {
    return this.orchestrator.cancel(jobId);
  }

  /** Running and recently finished jobs, newest first, with progress per task type. */
  jobs(): ReturnType<Orchestrator['jobs']> {
    return this.orchestrator.jobs();
  }

  onProgress(listener: (view: ProgressView) => void): void {
    this.orchestrator.progressListener = listener;
  }

  summary(): RunSummary {
    return this.orchestrator.summary();
  }

  /** The last lines a swarmlet, or a micro-task (by `context.id`), printed (bounded: task-log-book.ts). */
  taskLogs(query: TaskLogQuery): { lines: TaskLogLine[] } {
    return this.orchestrator.taskLogs(query);
  }

  /** For tests and operators: the swarmlets and what they are doing. */
  swarmlets(): ReturnType<Orchestrator['swarmletStates']> {
    return this.orchestrator.swarmletStates();
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    await this.orchestrator.stop();
  }
}

/** Validates Swarm options without starting anything (the CLI checks its flags with it). */
export function parseSwarmOptions(raw: SwarmOptions): z.output<typeof optionsSchema> {
  const parsed = optionsSchema.safeParse(raw);
  if (parsed.success) {
    const { maxMemoryMb, swarmletMemoryMb } = parsed.data;
    // Below one swarmlet's memory the pool could never start one: every job would wait forever.
    if (maxMemoryMb < swarmletMemoryMb) {
      throw new InputError(
        'Swarm options.maxMemoryMb',
        `${maxMemoryMb} MB is less than one swarmlet (swarmletMemoryMb ${swarmletMemoryMb} MB)`,
        `give maxMemoryMb ≥ ${swarmletMemoryMb}, or lower swarmletMemoryMb`,
        { value: swarmletMemoryMb },
      );
    }
    return parsed.data;
  }
  throw optionsError(parsed.error.issues, raw, optionsSchema.parse({ tasks: ['(default)'] }));
}

async function compileAll(
  paths: readonly string[],
  cacheDir: string,
  loadTimeoutMs: number,
): Promise<Map<string, TaskTypeInfo>> {
  const infos = await Promise.all(paths.map((path) => compileTaskModule(path, cacheDir, loadTimeoutMs)));
  const byName = new Map<string, TaskTypeInfo>();
  infos.forEach((info, i) => {
    const other = byName.get(info.name);
    if (other)
      throw new InputError(
        `tasks[${i}]`,
        `task type "${info.name}" is defined by both ${other.sourcePath} and ${info.sourcePath}`,
        'give each task type a unique name',
      );
    byName.set(info.name, info);
  });
  return byName;
}

function choosePolicy(choice: z.output<typeof optionsSchema>['policy']): Policy {
  if (choice === 'adaptive') return adaptivePolicy() as Policy;
  if ('static' in choice) return staticPolicy(choice.static) as Policy;
  return choice as Policy;
}
