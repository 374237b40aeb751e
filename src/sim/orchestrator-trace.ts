import type { Job } from '../core/job.js';
import type { Policy } from '../decide/policy.js';
import { adaptivePolicy, type AdaptiveParams } from '../decide/policies/adaptive.js';
import { LoadedTally } from './environment/loaded-tally.js';
import { SimProvider, type SimSwarmletModel } from './environment/sim-provider.js';
import { settle, VirtualEnvironment } from './environment/virtual-environment.js';
import { InvariantViolation, type InvariantContext } from './invariants.js';
import { percentile } from './metrics.js';
import type { AppOutcome } from './replay.js';
import type { Trace } from './trace.js';
import { simOrchestrator, workOf, type SimInput } from './workflow/orchestrator-replay.js';
import { DEFAULT_COLD_START_MS } from './workflow/replay.js';

/**
 * The keep-alive trace as a workload of the workflow simulator: every invocation is a one-micro-task job submitted at
 * its arrival time to the real orchestrator (the embedded runtime's loop, dispatcher, pool, usage model and the
 * adaptive policy) on a virtual clock, over simulated swarmlets (`SimProvider`) that hold the app's memory. Each app
 * (function row) is one task type; nothing is hinted: the policy learns each type's duration and idle times as it
 * goes.
 *
 * It measures what the keep-alive replay (`replay.ts`) measures, defined the same way:
 * - a cold start is an invocation that, when it arrives, finds no swarmlet warm for its type (loaded, active, not
 *   asked to stop or to change type) while no earlier invocation of its app is unfinished (the keep-alive replay's app
 *   is busy then: it finds the environment loaded);
 * - idle (wasted) memory-time is MB × ms a swarmlet held its type loaded and ran nothing, until the trace's end.
 * Where the models differ (the policy acts on 100 ms ticks, a start takes the cold start, concurrent invocations may
 * get swarmlets of their own), the README's `swarmlet sim` section says.
 */
export interface OrchestratorTraceOptions {
  readonly seed: number;
  /** Run the invariant checkers (every invocation run once, for its duration, after it arrived, on its own type). */
  readonly check: boolean;
  /** Start and load times of a simulated swarmlet (default: the workflow replay's cold start, 100 ms). */
  readonly model?: SimSwarmletModel;
  /** The control loop's period (the runtime's default: 100 ms). */
  readonly tickMs?: number;
  /** Most swarmlets at once (default: `poolBound`, big enough not to bind). */
  readonly maxSwarmlets?: number;
  /** The adaptive policy's parameters (its defaults otherwise). */
  readonly policy?: Partial<AdaptiveParams>;
}

export const DEFAULT_TRACE_SWARMLET_MODEL: SimSwarmletModel = {
  coldStartMs: DEFAULT_COLD_START_MS,
  loadMs: DEFAULT_COLD_START_MS,
  stopMs: 0,
};

/** What the orchestrator did besides the two measures (deterministic: no wall time here). */
export interface OrchestratorTraceDetails {
  readonly poolLimit: number;
  /** Most swarmlets up and not stopping at once. */
  readonly peakSwarmlets: number;
  /** Processes started (replicates and shadow pre-warms). */
  readonly swarmletStarts: number;
  /** Actions the policy decided, by kind (`prewarm`: a shadow swarmlet; `preload`: a type loaded into a live one). */
  readonly actions: Readonly<Record<string, number>>;
  /** Ticks in which the policy left demand unplaced (0: the pool never bound). */
  readonly unplacedTicks: number;
  readonly ticks: number;
  /** Timers fired in virtual time (the simulator's events). */
  readonly events: number;
  /** Arrival → start of its run, over all invocations (the orchestrator's added latency: ticks and cold starts). */
  readonly waitMs: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
  /** Invocations that started later than they arrived. */
  readonly waited: number;
}

export interface OrchestratorTraceResult {
  readonly outcomes: AppOutcome[];
  readonly details: OrchestratorTraceDetails;
}

/** Time comparisons allow for float rounding of virtual times (ms). */
const EPSILON_MS = 1e-6;

/** Virtual time allowed after the trace's end for the last invocations to finish. */
const DRAIN_LIMIT_MS = 24 * 3_600_000;

/**
 * A pool that does not bind: twice the most invocations running at once in the trace plus one swarmlet per app
 * (replicas left from a burst and kept-warm swarmlets of other apps come on top of the running ones).
 */
export function poolBound(trace: Trace): number {
  const starts: number[] = [];
  const ends: number[] = [];
  let apps = 0;
  for (const app of trace.apps) {
    if (app.arrivalsMs.length > 0) apps++;
    for (let i = 0; i < app.arrivalsMs.length; i++) {
      starts.push(app.arrivalsMs[i]!);
      ends.push(app.arrivalsMs[i]! + app.durationsMs[i]!);
    }
  }
  const ascending = (a: number, b: number) => a - b;
  starts.sort(ascending);
  ends.sort(ascending);
  let running = 0;
  let peak = 0;
  for (let s = 0, e = 0; s < starts.length; s++) {
    for (; e < ends.length && ends[e]! <= starts[s]!; e++) running--;
    peak = Math.max(peak, ++running);
  }
  return Math.max(1, 2 * (peak + apps));
}

export async function replayTraceThroughOrchestrator(
  trace: Trace,
  options: OrchestratorTraceOptions,
): Promise<OrchestratorTraceResult> {
  const types = typeNames(trace);
  const memoryByType = new Map(trace.apps.map((app, index) => [types[index]!, app.memoryMb]));
  const active = trace.apps.flatMap((app, index) => (app.arrivalsMs.length > 0 ? [index] : []));
  const environment = new VirtualEnvironment();
  const tally = new LoadedTally((type) => memoryByType.get(type) ?? 0);
  const poolLimit = options.maxSwarmlets ?? poolBound(trace);
  const counted = countingPolicy(adaptivePolicy(options.policy) as Policy);
  let provider: SimProvider | undefined;
  const orchestrator = simOrchestrator({
    environment,
    types: active.map((index) => types[index]!),
    policy: counted.policy,
    slots: poolLimit,
    tickMs: options.tickMs,
    maxAttempts: undefined,
    provider: (events) =>
      (provider = new SimProvider(
        events,
        environment,
        options.model ?? DEFAULT_TRACE_SWARMLET_MODEL,
        workOf,
        {},
        tally,
      )),
  });
  orchestrator.start();

  const order = arrivalOrder(trace);
  const coldStarts = new Uint32Array(trace.apps.length);
  const unfinished = new Uint32Array(trace.apps.length);
  const failures: string[] = [];
  let submitted = 0;
  let finished = 0;
  const submitDue = () => {
    const nowMs = environment.nowMs;
    while (submitted < order.length && arrivalOf(trace, order[submitted]!) <= nowMs + EPSILON_MS) {
      const [appIndex, call] = order[submitted++]!;
      const app = trace.apps[appIndex]!;
      const type = types[appIndex]!;
      if (!tally.isWarm(type) && unfinished[appIndex] === 0) coldStarts[appIndex]! += 1;
      unfinished[appIndex]! += 1;
      orchestrator.submit(invocationJob(app.ownerId, type, appIndex, call, app.durationsMs[call]!, app.memoryMb)).then(
        () => ((unfinished[appIndex]! -= 1), (finished += 1)),
        (error: Error) => ((finished += 1), failures.push(`${type} call ${call}: ${error.message}`)),
      );
    }
    if (submitted < order.length) environment.timers.after(arrivalOf(trace, order[submitted]!) - nowMs, submitDue);
  };
  if (order.length > 0) environment.timers.after(arrivalOf(trace, order[0]!), submitDue);
  let idleAtEnd: Map<string, number> | undefined;
  environment.timers.after(trace.endMs, () => (idleAtEnd = tally.idleMbMsUntil(trace.endMs)));

  const limitMs = trace.endMs + DRAIN_LIMIT_MS;
  await orchestrator.settled();
  while ((idleAtEnd === undefined || finished < order.length) && environment.nowMs <= limitMs && environment.step())
    await orchestrator.settled();
  await settle();
  await orchestrator.stop();
  const context: InvariantContext = { appId: '(all)', policy: 'orchestrator', seed: options.seed };
  if (failures.length > 0)
    throw new InvariantViolation(context, -1, `${failures.length} invocation(s) failed, first: ${failures[0]}`);
  if (finished < order.length)
    throw new InvariantViolation(
      context,
      -1,
      `${order.length - finished} of ${order.length} invocations had not finished ${DRAIN_LIMIT_MS / 3_600_000} h after the trace's end`,
    );
  const ran = provider!.ran;
  if (options.check) checkRuns(context, trace, ran, provider!, poolLimit);
  const outcomes = trace.apps.map((app, index) => ({
    appId: app.appId,
    calls: app.arrivalsMs.length,
    coldStarts: coldStarts[index]!,
    wastedMbMs: idleAtEnd?.get(types[index]!) ?? 0,
  }));
  return {
    outcomes,
    details: {
      poolLimit,
      peakSwarmlets: provider!.maxServing,
      swarmletStarts: provider!.coldStarts,
      actions: Object.fromEntries([...counted.actions].sort(([a], [b]) => a.localeCompare(b))),
      unplacedTicks: counted.unplacedTicks(),
      ticks: counted.ticks(),
      events: environment.fired,
      ...waits(trace, ran),
    },
  };
}

/** Task type per app: its id, made unique if two rows share one. */
function typeNames(trace: Trace): string[] {
  const seen = new Set<string>();
  return trace.apps.map((app, index) => {
    const name = seen.has(app.appId) ? `${app.appId}#${index}` : app.appId;
    seen.add(name);
    return name;
  });
}

/** Every invocation as [app, call], in arrival order (ties: app order, then call order). */
function arrivalOrder(trace: Trace): [number, number][] {
  const order: [number, number][] = [];
  trace.apps.forEach((app, appIndex) => {
    for (let call = 0; call < app.arrivalsMs.length; call++) order.push([appIndex, call]);
  });
  return order.sort(
    ([appA, callA], [appB, callB]) =>
      trace.apps[appA]!.arrivalsMs[callA]! - trace.apps[appB]!.arrivalsMs[callB]! || appA - appB || callA - callB,
  );
}

function arrivalOf(trace: Trace, [appIndex, call]: [number, number]): number {
  return trace.apps[appIndex]!.arrivalsMs[call]!;
}

/** One invocation as a job of one micro-task (validated by construction: the ids and types are ours). */
function invocationJob(owner: string, type: string, appIndex: number, call: number, ms: number, mb: number): Job {
  const input: SimInput = { ms, cpu: 1, mb, type };
  // Named after its app, so the job history keeps one profile per app (not one for every app's jobs together).
  return { tasks: [{ id: `${appIndex}.${call}`, type, input, deps: [] }], priority: 'normal', owner, name: type };
}

/** The adaptive policy, counting what it decides. */
function countingPolicy(inner: Policy): {
  policy: Policy;
  actions: Map<string, number>;
  ticks: () => number;
  unplacedTicks: () => number;
} {
  const actions = new Map<string, number>();
  let ticks = 0;
  let unplaced = 0;
  return {
    policy: {
      name: inner.name,
      initialState: () => inner.initialState(),
      decide(state, snapshot) {
        const next = inner.decide(state, snapshot);
        ticks++;
        if (next.decision.unplaced.length > 0) unplaced++;
        for (const action of next.decision.actions) {
          const kind = action.kind === 'prewarm' && action.swarmletId !== undefined ? 'preload' : action.kind;
          actions.set(kind, (actions.get(kind) ?? 0) + 1);
        }
        return next;
      },
    },
    actions,
    ticks: () => ticks,
    unplacedTicks: () => unplaced,
  };
}

function waits(trace: Trace, ran: SimProvider['ran']): Pick<OrchestratorTraceDetails, 'waitMs' | 'waited'> {
  const all = new Float64Array(ran.length);
  let sum = 0;
  let waited = 0;
  ran.forEach((run, i) => {
    const [appIndex, call] = callOf(run.label);
    const waitMs = Math.max(0, run.startMs - trace.apps[appIndex]!.arrivalsMs[call]!);
    all[i] = waitMs;
    sum += waitMs;
    if (waitMs > EPSILON_MS) waited++;
  });
  all.sort();
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    waitMs: {
      mean: round(ran.length > 0 ? sum / ran.length : 0),
      p50: round(percentile(all, 50) || 0),
      p99: round(percentile(all, 99) || 0),
      max: round(all[all.length - 1] ?? 0),
    },
    waited,
  };
}

function callOf(label: string): [number, number] {
  const dot = label.indexOf('.');
  return [Number(label.slice(0, dot)), Number(label.slice(dot + 1))];
}

/**
 * Checkers kept apart from the replay (as the keep-alive replay's are): every invocation ran exactly once, for its
 * trace duration, not before it arrived, on a swarmlet serving its type; the pool stayed within its limit.
 */
function checkRuns(
  context: InvariantContext,
  trace: Trace,
  ran: SimProvider['ran'],
  provider: SimProvider,
  poolLimit: number,
): void {
  const fail = (message: string) => {
    throw new InvariantViolation(context, -1, message);
  };
  if (provider.violations.length > 0) fail(provider.violations[0]!);
  if (provider.maxServing > poolLimit) fail(`${provider.maxServing} swarmlets at once, over the limit of ${poolLimit}`);
  const seen = trace.apps.map((app) => new Uint8Array(app.arrivalsMs.length));
  for (const run of ran) {
    const [appIndex, call] = callOf(run.label);
    const app = trace.apps[appIndex];
    if (app === undefined || !(call < app.arrivalsMs.length)) return fail(`a run of unknown invocation ${run.label}`);
    if (seen[appIndex]![call]!++ > 0) fail(`invocation ${run.label} ran twice`);
    const arrivalMs = app.arrivalsMs[call]!;
    if (run.startMs < arrivalMs - EPSILON_MS)
      fail(`invocation ${run.label} started at ${run.startMs} ms, before it arrived at ${arrivalMs} ms`);
    const durationMs = run.endMs - run.startMs;
    if (Math.abs(durationMs - app.durationsMs[call]!) > EPSILON_MS * Math.max(1, durationMs))
      fail(`invocation ${run.label} ran ${durationMs} ms, its trace duration is ${app.durationsMs[call]} ms`);
  }
  const missing = seen.findIndex((calls) => calls.includes(0));
  if (missing >= 0) fail(`invocation ${missing}.${seen[missing]!.indexOf(0)} never ran`);
}
