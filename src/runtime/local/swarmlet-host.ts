/**
 * The program inside every swarmlet (a forked `node` process, bundled to one plain-JS file so a
 * cold start costs little more than a bare fork). It loads compiled task-type modules, runs
 * `warmup`, executes micro-tasks one at a time in arrival order, batches results back, and its
 * monitor reports CPU, memory and event-loop delay. It imports nothing heavy on purpose.
 *
 * Stateful types: a `load` that carries a `state` runs the type's `restore(state)` after warmup and
 * before `ready`. A `snapshot` request waits in the micro-task queue behind the micro-tasks sent
 * before it and is answered in that order (`state` or `state-failed`): the state it returns has
 * seen exactly the micro-tasks the director dispatched before asking.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { TaskContext, TaskDefinition } from '../../core/task-type.js';
import type { FromSwarmlet, ToSwarmlet } from './ipc.js';
import {
  MODE_JOIN,
  RESULT_ERROR,
  RESULT_OK,
  RESULT_SPLIT,
  stateProblem,
  type WireResult,
  type WireTask,
} from './wire.js';
import { openBlackBoxWriter } from './black-box.js';
import { labelOutput } from './host-output.js';

const FLUSH_EVERY_RESULTS = 512;
const FLUSH_AFTER_MS = 2;
const monitorIntervalMs = Number(process.env.SWARMLET_MONITOR_MS ?? 250);
const blackBoxPath = process.env.SWARMLET_BLACK_BOX;
const initial = process.env.SWARMLET_LOAD;
const offline = process.env.SWARMLET_NO_NETWORK === '1';
// Read once, then gone: task code has no business with the host's own settings (its black box above all).
for (const name of ['SWARMLET_MONITOR_MS', 'SWARMLET_BLACK_BOX', 'SWARMLET_LOAD', 'SWARMLET_NO_NETWORK'])
  delete process.env[name];

const loaded = new Map<string, TaskDefinition>();
let current: TaskDefinition | undefined;
/** A snapshot request, queued behind the micro-tasks that came before it. */
interface StateRequest {
  readonly snapshotOf: string;
}
const queue: (WireTask | StateRequest)[] = [];
let draining = false;
let pending: WireResult[] = [];
let lastFlushMs = performance.now();
const stats = { tasksDone: 0, errors: 0, latencyMsSum: 0, latencyMsMax: 0 };
/** Measure CPU and memory for the next micro-task: its type's last one took ≥ 1 ms (or none ran yet). */
let measureUsage = true;
const MEASURE_ABOVE_MS = 1;
const YIELD_AFTER_US = 10_000;
let monitorStarted = false;
/** The micro-task running now: crash attribution (the black box) and the prefix of what it prints. */
const recordStarted = openBlackBoxWriter(blackBoxPath);
const output = labelOutput();

// The channel to the director is the host's alone: task code that calls process.send fails its
// micro-task (a clear error, retried like any other) instead of speaking the protocol.
const sendToDirector = process.send!.bind(process);
let channelMisuse: string | undefined;
process.send = (() => {
  channelMisuse ??= "the task called process.send: the swarmlet's IPC channel is reserved for Swarmlet";
  return false;
}) as typeof process.send;

function send(message: FromSwarmlet): void {
  sendToDirector(message);
}

function flush(): void {
  if (pending.length === 0) return;
  const batch = pending;
  pending = [];
  lastFlushMs = performance.now();
  try {
    send({ t: 'results', results: batch });
  } catch {
    // An output JSON cannot carry (BigInt, a cycle) or a batch too big for one message: one by
    // one, so only the micro-task whose output cannot travel fails (costs nothing when all is well).
    for (const result of batch) sendAlone(result);
  }
}

function sendAlone(result: WireResult): void {
  try {
    send({ t: 'results', results: [result] });
  } catch (error) {
    const message = `its output cannot be sent to the director (${messageOf(error)}): return JSON data`;
    send({ t: 'results', results: [[result[0], RESULT_ERROR, { message }, result[3]]] });
  }
}

/**
 * An error thrown outside any micro-task's own promise (a timer callback, a stray rejection) would
 * kill the swarmlet and charge whichever micro-task runs then: it is printed instead, and the
 * swarmlet goes on. Printing must never fail in turn: a director that is gone (its pipes closed)
 * ends the swarmlet, instead of an error about the error, for ever.
 */
let reporting = false;
function reportStray(error: unknown): void {
  if (reporting || !process.connected) return process.exit(0);
  reporting = true;
  try {
    writeSync(2, `uncaught error outside a micro-task's result (the swarmlet goes on): ${messageOf(error)}\n`);
  } catch {
    process.exit(0);
  } finally {
    reporting = false;
  }
}
process.on('uncaughtException', reportStray);
process.on('unhandledRejection', reportStray);
// Our output pipes broke: the director is gone.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => process.exit(0));

/**
 * Loads a task type and runs its warmup, once per swarmlet; `activate` makes it the type this
 * swarmlet serves. A preload (activate false) is how a shadow gets a module warm ahead of demand,
 * so a later specialization to it costs nothing.
 */
async function load(taskType: string, modulePath: string, activate: boolean, state: unknown): Promise<void> {
  const loadStart = performance.now();
  try {
    let definition = loaded.get(taskType);
    let warmupMs = 0;
    if (!definition) {
      const module = (await import(pathToFileURL(modulePath).href)) as { default?: TaskDefinition };
      definition = module.default;
      if (!definition || typeof definition.run !== 'function')
        throw new Error('the module has no default export made with defineTask({ name, run })');
      if (definition.name !== taskType)
        throw new Error(`the module defines task type "${definition.name}", expected "${taskType}"`);
      const warmupStart = performance.now();
      await definition.warmup?.();
      warmupMs = performance.now() - warmupStart;
      loaded.set(taskType, definition);
    }
    if (state !== undefined && definition.restore) {
      const restoreStart = performance.now();
      await restore(definition, state);
      warmupMs += performance.now() - restoreStart;
    }
    if (activate) {
      current = definition;
      measureUsage = true; // a new type: measure its first micro-task
    }
    send({
      t: 'ready',
      taskType,
      activated: activate,
      loadMs: performance.now() - loadStart - warmupMs,
      warmupMs,
      ...(definition.snapshot && { stateful: true }),
    });
    if (!monitorStarted) {
      monitorStarted = true;
      void startMonitor();
    }
  } catch (error) {
    send({ t: 'load-failed', taskType, message: messageOf(error) });
  }
}

async function restore(definition: TaskDefinition, state: unknown): Promise<void> {
  try {
    await definition.restore!(state);
  } catch (error) {
    throw new Error(`restore(state) failed: ${messageOf(error)}`);
  }
}

/** The type's state as JSON data, checked (serializable, bounded) here so a bad one is reported, never sent. */
async function answerSnapshot(taskType: string): Promise<void> {
  flush(); // the results of the micro-tasks before it reach the director first
  const definition = loaded.get(taskType);
  if (!definition?.snapshot)
    return send({
      t: 'state-failed',
      taskType,
      message: `task type ${taskType} ${definition ? 'has no snapshot()' : 'is not loaded in this swarmlet'}`,
    });
  try {
    let state = definition.snapshot();
    if (state instanceof Promise) state = await state;
    const problem = stateProblem(state);
    send(problem === undefined ? { t: 'state', taskType, state } : { t: 'state-failed', taskType, message: problem });
  } catch (error) {
    send({ t: 'state-failed', taskType, message: `snapshot() threw: ${messageOf(error)}` });
  }
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message =
    typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  if (code === 'ERR_ACCESS_DENIED') return `${message}${deniedWhat(error)} (${SANDBOX_REFUSAL})`;
  return offline && typeof code === 'string' && NETWORK_CODES.has(code) ? `${message} (${NO_NETWORK})` : message;
}

/** What the permission model refused, as its error names it: `: FileSystemRead of /etc/shadow`, `: ChildProcess`. */
function deniedWhat(error: Error): string {
  const { permission, resource } = error as { permission?: unknown; resource?: unknown };
  if (typeof permission !== 'string' || permission === '') return '';
  return typeof resource === 'string' && resource !== '' ? `: ${permission} of ${resource}` : `: ${permission}`;
}

/** How connecting, or looking a name up, fails with no network but the sandbox's own (nothing listens there). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
const NO_NETWORK =
  "refused by the swarmlet's sandbox: it has no network; a task type that needs one declares permissions: ['network']";

/** Said with each refusal of Node's permission model, so the client knows who refused and what is allowed. */
const SANDBOX_REFUSAL =
  "refused by the swarmlet's sandbox: task code may read only its bundle and the packages it imports, " +
  'write nothing, and start no process or thread';

async function execute(definition: TaskDefinition, task: WireTask): Promise<WireResult> {
  const [id, mode, input, depth, attempt, deps, label] = task;
  const context: TaskContext = { id: label, depth, attempt, deps: deps ?? {} };
  const cpuAtStart = measureUsage ? process.cpuUsage() : undefined;
  const start = performance.now();
  try {
    let status: 0 | 2 = RESULT_OK;
    let value: unknown;
    if (mode === MODE_JOIN) {
      const { input: original, outputs } = input as { input: unknown; outputs: unknown[] };
      value = definition.join ? await definition.join(outputs, original, context) : outputs;
    } else {
      const children = definition.split?.(input, context);
      if (children && children.length > 0) {
        status = RESULT_SPLIT;
        value = children;
      } else {
        value = definition.run(input, context);
        if (value instanceof Promise) value = await value;
      }
    }
    return withUsage([id, status, value, record(start)], cpuAtStart);
  } catch (error) {
    stats.errors += 1;
    const failure =
      error instanceof Error
        ? {
            message: messageOf(error),
            stack: error.stack,
            // The sandbox refuses the same call on every attempt: retrying it only delays the answer.
            ...((error as { code?: unknown }).code === 'ERR_ACCESS_DENIED' && { final: true, attempt }),
          }
        : { message: String(error) };
    return withUsage([id, RESULT_ERROR, failure, record(start)], cpuAtStart);
  }
}

function withUsage(result: WireResult, cpuAtStart: NodeJS.CpuUsage | undefined): WireResult {
  measureUsage = result[3] >= MEASURE_ABOVE_MS * 1000;
  if (cpuAtStart === undefined) return result;
  const cpu = process.cpuUsage(cpuAtStart);
  result.push([cpu.user + cpu.system, Math.round(process.memoryUsage.rss() / 1024)]);
  return result;
}

function record(startMs: number): number {
  const latencyMs = performance.now() - startMs;
  stats.tasksDone += 1;
  stats.latencyMsSum += latencyMs;
  if (latencyMs > stats.latencyMsMax) stats.latencyMsMax = latencyMs;
  return Math.round(latencyMs * 1000);
}

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (queue.length > 0) {
      const definition = current;
      const task = queue.shift()!;
      if (!Array.isArray(task)) {
        await answerSnapshot(task.snapshotOf);
        continue;
      }
      if (!definition) {
        pending.push([task[0], RESULT_ERROR, { message: 'swarmlet has no task type loaded' }, 0]);
        continue;
      }
      recordStarted(task[0]);
      output.running(task[6]);
      let result = await execute(definition, task);
      output.running(undefined);
      if (channelMisuse !== undefined) result = [task[0], RESULT_ERROR, { message: channelMisuse }, result[3]];
      channelMisuse = undefined;
      pending.push(result);
      // After a long micro-task, let messages in (a 'drop' may have come while it ran); free for short ones.
      if (result[3] >= YIELD_AFTER_US) await new Promise((resolve) => setImmediate(resolve));
      if (pending.length >= FLUSH_EVERY_RESULTS || performance.now() - lastFlushMs >= FLUSH_AFTER_MS) flush();
    }
    flush();
    recordStarted(-1); // empty: a kill now charges nobody
  } finally {
    draining = false;
  }
}

/** Started after the first `ready` so the monitor's setup is not on the cold-start path. */
async function startMonitor(): Promise<void> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const memory = process.memoryUsage();
    send({
      t: 'sample',
      sample: {
        cpuPercent: ((cpu.user + cpu.system) / 1000 / Math.max(1, now - lastAt)) * 100,
        rssMb: memory.rss / 2 ** 20,
        heapUsedMb: memory.heapUsed / 2 ** 20,
        eventLoopDelayMsP99: delay.percentile(99) / 1e6,
        tasksDone: stats.tasksDone,
        errors: stats.errors,
        latencyMsMean: stats.tasksDone > 0 ? stats.latencyMsSum / stats.tasksDone : 0,
        latencyMsMax: stats.latencyMsMax,
      },
    });
    stats.latencyMsMax = 0;
    delay.reset();
    lastCpu = process.cpuUsage();
    lastAt = now;
  }, monitorIntervalMs).unref();
}

process.on('message', (message: ToSwarmlet) => {
  switch (message.t) {
    case 'run':
      for (const task of message.tasks) queue.push(task);
      void drain();
      return;
    case 'load':
      void load(message.taskType, message.modulePath, message.activate, message.state);
      return;
    case 'snapshot':
      queue.push({ snapshotOf: message.taskType });
      void drain();
      return;
    case 'drop': {
      const dropped = new Set(message.ids);
      for (let i = queue.length - 1; i >= 0; i--) {
        const item = queue[i]!;
        if (Array.isArray(item) && dropped.has(item[0])) queue.splice(i, 1);
      }
      return;
    }
    case 'stop':
      flush();
      process.exit(0);
  }
});
// The director went away: nothing left to serve, and nobody left to kill what task code started, so the swarmlet
// takes its process group with it (it leads one; under bwrap its namespace goes with the launcher instead).
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(0); // not a group leader
  }
});
send({ t: 'hello', pid: process.pid });
// The first task type comes with the fork (no round trip before loading starts), with its state
// when that is small; otherwise the director sends a `load` message once it hears `hello`.
if (initial) {
  const { taskType, modulePath, state } = JSON.parse(initial) as {
    taskType: string;
    modulePath: string;
    state?: unknown;
  };
  void load(taskType, modulePath, true, state);
}
