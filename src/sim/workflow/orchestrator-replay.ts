import { LIMITS } from '../../core/limits.js';
import { parseJob } from '../../core/job.js';
import type { Policy } from '../../decide/policy.js';
import { adaptivePolicy } from '../../decide/policies/adaptive.js';
import { staticPolicy } from '../../decide/policies/static.js';
import { MemoryBroker } from '../../runtime/brokers/memory-broker.js';
import { JobHistory } from '../../runtime/job-history.js';
import type { TaskTypeInfo } from '../../runtime/local/task-compiler.js';
import { Orchestrator } from '../../runtime/orchestrator.js';
import { EMPTY_HISTORY } from '../../runtime/stores/history-store.js';
import { SimProvider, type SimFaults, type SimRun, type SimSwarmletModel } from '../environment/sim-provider.js';
import type { RunSummary } from '../../runtime/run-report.js';
import type { ProviderEvents } from '../../runtime/provider.js';
import { settle, VirtualEnvironment } from '../environment/virtual-environment.js';
import { lowerBoundMs, workflowBounds } from './bounds.js';
import type { Workflow } from './load.js';

/**
 * A workflow replayed through the real orchestrator (the embedded runtime's loop, dispatcher, pool, usage model and
 * policy) on a virtual clock with simulated swarmlets: the same decision code as `swarmlet run`, with the trace's
 * service times. No task type gets a hint: the policy learns as the run goes, as for a real user.
 */
export interface OrchestratorReplayOptions {
  readonly slots: number;
  /** `adaptive`, or a fixed split (slots per type). */
  readonly policy: 'adaptive' | { readonly static: Readonly<Record<string, number>> };
  readonly model: SimSwarmletModel;
  /** The control loop's period (the runtime's default: 100 ms). */
  readonly tickMs?: number;
  /** Gives up (as a failed replay) past this much virtual time. */
  readonly maxVirtualMs?: number;
  /** Attempts per micro-task (the runtime's default: 3). */
  readonly maxAttempts?: number;
  /** Faults injected while it runs (the VOPR's schedule): installed once the orchestrator is up. */
  readonly faults?: (run: { environment: VirtualEnvironment; provider: SimProvider }) => SimFaults;
}

/** How a run ended, and what the checkers read (a replay that did not finish is not an error here). */
export interface OrchestratorRun {
  readonly outcome: 'done' | 'pending' | Error;
  /** The job's output: each micro-task's output by id (a simulated one outputs its own id). */
  readonly output: unknown;
  readonly endMs: number;
  readonly provider: SimProvider;
  readonly environment: VirtualEnvironment;
  readonly summary: RunSummary;
}

export interface OrchestratorReplayResult {
  readonly policy: string;
  readonly slots: number;
  readonly makespanMs: number;
  readonly lowerBoundMs: number;
  /** Swarmlet time held (busy + idle + starting), in ms, until the job ended. */
  readonly heldMs: number;
  readonly coldStarts: number;
  /** Morphing actions by kind (replicate, specialize, consolidate, deprovision, prewarm). */
  readonly actions: Readonly<Record<string, number>>;
  /** Timers fired in virtual time (the simulator's events). */
  readonly events: number;
  /** Wall time the replay took, ms. */
  readonly wallMs: number;
  /** Each micro-task run to its end (the invariant checkers' input). */
  readonly ran: readonly SimRun[];
  /** The type each swarmlet served, from each start or specialization on. */
  readonly served: SimProvider['served'];
}

const FOREVER_MS = 30 * 24 * 3_600_000;

/** Runs a workflow as one job through the orchestrator on virtual time until it ends or `maxVirtualMs` passes. */
export async function runThroughOrchestrator(
  workflow: Workflow,
  options: OrchestratorReplayOptions,
): Promise<OrchestratorRun> {
  const environment = new VirtualEnvironment();
  let provider: SimProvider | undefined;
  const installed: { faults: SimFaults } = { faults: {} };
  const faults: SimFaults = { resultDelayMs: () => installed.faults.resultDelayMs?.() ?? 0 };
  const orchestrator = simOrchestrator({
    environment,
    types: workflow.types,
    policy: policyOf(options.policy),
    slots: options.slots,
    tickMs: options.tickMs,
    maxAttempts: options.maxAttempts,
    provider: (events) => (provider = new SimProvider(events, environment, options.model, workOf, faults)),
  });
  orchestrator.start();
  if (options.faults) installed.faults = options.faults({ environment, provider: provider! });
  let outcome = 'pending' as 'pending' | 'done' | Error;
  let output: unknown;
  let endMs = 0;
  orchestrator.submit(parseJob(workflowJob(workflow))).then(
    (value) => ((outcome = 'done'), (output = value), (endMs = environment.nowMs)),
    (error: Error) => ((outcome = error), (endMs = environment.nowMs)),
  );
  const limitMs = options.maxVirtualMs ?? FOREVER_MS;
  await orchestrator.settled();
  while (outcome === 'pending' && environment.nowMs <= limitMs && environment.step()) await orchestrator.settled();
  await settle(); // the job's promise settles a turn later
  if (outcome === 'pending') endMs = environment.nowMs;
  const summary = orchestrator.summary();
  await orchestrator.stop();
  return { outcome, output, endMs, provider: provider!, environment, summary };
}

export async function replayThroughOrchestrator(
  workflow: Workflow,
  options: OrchestratorReplayOptions,
): Promise<OrchestratorReplayResult> {
  const wallStart = performance.now();
  const run = await runThroughOrchestrator(workflow, options);
  const { outcome, provider, summary } = run;
  if (outcome !== 'done')
    throw new Error(
      `${workflow.name}: the replay did not finish (${outcome === 'pending' ? `still running at ${Math.round(run.endMs)} ms virtual` : outcome.message})`,
    );
  const actions: Record<string, number> = {};
  for (const [kind, groups] of Object.entries(summary.actions))
    actions[kind] = (groups ?? []).reduce((sum, group) => sum + group.count, 0);
  return {
    policy: typeof options.policy === 'string' ? options.policy : 'static',
    slots: options.slots,
    makespanMs: run.endMs,
    lowerBoundMs: lowerBoundMs(workflowBounds(workflow), options.slots),
    heldMs: provider.heldMsUntil(run.endMs),
    coldStarts: provider.coldStarts,
    actions,
    events: run.environment.fired,
    wallMs: performance.now() - wallStart,
    ran: provider.ran,
    served: provider.served,
  };
}

/**
 * The embedded runtime's orchestrator on a virtual clock over simulated swarmlets: `slots` swarmlets (and cores) at
 * most, no memory limit, no hard limits, loads never time out (a simulated load cannot hang).
 */
export function simOrchestrator(options: {
  readonly environment: VirtualEnvironment;
  readonly types: readonly string[];
  readonly policy: Policy;
  readonly slots: number;
  readonly tickMs: number | undefined;
  readonly maxAttempts: number | undefined;
  readonly provider: (events: ProviderEvents) => SimProvider;
}): Orchestrator {
  const { environment } = options;
  return new Orchestrator({
    taskTypes: new Map(options.types.map((type) => [type, simTaskType(type)])),
    broker: new MemoryBroker({ clock: environment.clock }),
    policy: options.policy,
    limits: { maxSwarmlets: options.slots, maxMemoryMb: Number.MAX_SAFE_INTEGER, swarmletMemoryMb: 60 },
    trackerLimits: LIMITS,
    maxAttempts: options.maxAttempts ?? LIMITS.maxAttempts,
    tickMs: options.tickMs ?? 100,
    environment,
    provider: options.provider,
    history: new JobHistory(EMPTY_HISTORY, undefined, () => undefined),
    hardLimits: { taskTimeoutMs: undefined, swarmletMemoryLimitMb: undefined, onRunaway: 'alert' },
    admission: undefined,
    cores: options.slots,
    loadTimeoutMs: FOREVER_MS,
  });
}

function policyOf(choice: OrchestratorReplayOptions['policy']): Policy {
  return (choice === 'adaptive' ? adaptivePolicy() : staticPolicy(choice.static)) as Policy;
}

/** A trace's task type as the orchestrator knows one: no module, no hints (it learns them). */
function simTaskType(name: string): TaskTypeInfo {
  return {
    name,
    sourcePath: `sim:${name}`,
    modulePath: `sim:${name}`,
    hasJoin: false,
    hintDurationMs: undefined,
    sizeOf: undefined,
    permissions: [],
  };
}

export interface SimInput {
  readonly ms: number;
  readonly cpu: number;
  readonly mb: number;
  readonly type: string;
}

export function workOf(input: unknown): { ms: number; cpuCores: number; memoryMb: number; taskType: string } {
  const { ms, cpu, mb, type } = input as SimInput;
  return { ms, cpuCores: cpu, memoryMb: mb, taskType: type };
}

/** The workflow as one job: a micro-task per task, its parents as dependencies, its measurements as its input. */
export function workflowJob(workflow: Workflow) {
  return {
    tasks: workflow.tasks.map((task) => ({
      id: task.id,
      type: task.type,
      input: {
        ms: task.runtimeMs,
        cpu: task.cpuCores ?? 1,
        mb: task.memoryMb ?? 0,
        type: task.type,
      } satisfies SimInput,
      deps: task.parents.map((parent) => workflow.tasks[parent]!.id),
    })),
  };
}
