/**
 * The usage model and the anomaly detector together, as the runtime uses them: each completed micro-task is
 * judged against what history predicted for its size, then learned; each running one is judged on its
 * elapsed time so far. Pure, so a unit test drives exactly what the runtime runs.
 *
 * What is not an anomaly, and why:
 *   - a bigger input that takes longer: predictions are per size (the model's log-log fit), and an input
 *     outside the sizes seen gets the model's extrapolation allowance (cost may grow up to linearly);
 *   - a busy machine: a completion whose CPU time was measured is judged on its CPU time (waiting for a core
 *     costs none); elapsed time, where it is all there is (and while running), gets the detector's contention
 *     allowance and its floors;
 *   - a type with too little history (before the detector's `minSamples` judged completions): a hint is a
 *     guess, the first micro-tasks in a new swarmlet run cold (JIT, caches), and no data is not an anomaly.
 *     Hard limits (`taskTimeoutMs`) hold meanwhile.
 * The price: a completed micro-task that only waited (a sleep, a slow disk) with normal CPU time is not
 * reported; while it waits, the running check on elapsed time still sees it.
 */
import {
  checkRunning,
  createAnomalyDetector,
  observeCompleted,
  ratioStatistics,
  ratiosReady,
  runningQuietRatio,
  type AnomalyDetector,
  type AnomalyEvent,
  type AnomalyOptions,
} from './anomaly.js';
import {
  createUsageModel,
  observeUsage,
  predictFromHistory,
  type UsageFeatures,
  type UsageModel,
  type UsageModelOptions,
} from './usage-model.js';

export interface UsageWatch {
  readonly model: UsageModel;
  readonly detector: AnomalyDetector;
}

/** What one completed micro-task used. */
export interface CompletedUsage {
  /** Elapsed time, from the start of its run to its result. */
  readonly durationMs: number;
  /** CPU time it used; undefined when not measured (micro-tasks under 1 ms are not). */
  readonly cpuMs?: number;
  /** Its swarmlet's resident memory at its end. */
  readonly memoryMb?: number;
}

export function createUsageWatch(
  modelOptions: Partial<UsageModelOptions> = {},
  anomalyOptions: Partial<AnomalyOptions> = {},
): UsageWatch {
  return { model: createUsageModel(modelOptions), detector: createAnomalyDetector(anomalyOptions) };
}

/** Judges one completion against the predictions made before it, then learns from it. */
export function observeTaskCompletion(
  watch: UsageWatch,
  taskType: string,
  features: UsageFeatures,
  actual: CompletedUsage,
): AnomalyEvent | undefined {
  const event = judgeCompletion(watch, taskType, features.sizeBytes, actual);
  const cpu = actual.cpuMs !== undefined && actual.durationMs > 0 ? actual.cpuMs / actual.durationMs : undefined;
  observeUsage(watch.model, taskType, features, {
    durationMs: actual.durationMs,
    ...(cpu !== undefined && { cpu }),
    ...(actual.memoryMb !== undefined && { memoryMb: actual.memoryMb }),
  });
  return event;
}

/**
 * A micro-task still running: is its elapsed time alone already anomalous for its type and size? Elapsed
 * counts from dispatch, so the dispatch overhead learned for the type (twice its prediction) is taken off.
 */
export function checkTaskRunning(
  watch: UsageWatch,
  taskType: string,
  elapsedMs: number,
  sizeBytes?: number,
): AnomalyEvent | undefined {
  const baseline = runningBaseline(watch, taskType, sizeBytes);
  return baseline && checkRunningAgainst(watch, taskType, baseline, elapsedMs);
}

/** What `checkTaskRunning` judges elapsed time against: the same for every running micro-task of a type and size. */
export interface RunningBaseline {
  readonly durationMs: number;
  readonly allowanceLog: number;
  /** The learned dispatch overhead; NaN: none learned. */
  readonly overheadMs: number;
  /** Running ÷ predicted at or below this is not anomalous (`runningQuietRatio`). */
  readonly quietRatio: number;
}

/**
 * The type's baseline for running micro-tasks of this size, or undefined while they are not judged (too little
 * history, or too few judged completions). It changes only when the watch learns (`learnedSoFar` moves): a caller
 * checking many running micro-tasks may keep it until then.
 */
export function runningBaseline(watch: UsageWatch, taskType: string, sizeBytes?: number): RunningBaseline | undefined {
  const duration = predictFromHistory(watch.model, taskType, 'duration', sizeBytes);
  if (!Number.isFinite(duration.value) || !ratiosReady(watch.detector, taskType, 'duration')) return undefined;
  const overheadMs = predictFromHistory(watch.model, overheadKey(taskType), 'duration', sizeBytes).value;
  const quietRatio = runningQuietRatio(watch.detector, duration.allowanceLog);
  return { durationMs: duration.value, allowanceLog: duration.allowanceLog, overheadMs, quietRatio };
}

/** Moves whenever the watch's model or detector learns (never goes back). */
export function learnedSoFar(watch: UsageWatch): number {
  return watch.model.learned + watch.detector.learned;
}

/** `checkTaskRunning` against a baseline `runningBaseline` gave. */
export function checkRunningAgainst(
  watch: UsageWatch,
  taskType: string,
  baseline: RunningBaseline,
  elapsedMs: number,
): AnomalyEvent | undefined {
  const overhead = baseline.overheadMs;
  const runningMs = Number.isFinite(overhead) ? Math.max(0, elapsedMs - 2 * overhead) : elapsedMs;
  // Most checks end here, as checkRunning's first test would (a bad elapsed time goes on to be refused there).
  if (runningMs >= 0 && runningMs / baseline.durationMs <= baseline.quietRatio) return undefined;
  return checkRunning(watch.detector, taskType, runningMs, baseline.durationMs, baseline.allowanceLog);
}

/**
 * Dispatch to result minus the run's own duration: the input's transfer and the wait in the swarmlet's queue
 * (a merge-sort join of 2 ms may spend 40 ms there). Learned per type and size like any usage, for the
 * running check only.
 */
export function observeDispatchOverhead(
  watch: UsageWatch,
  taskType: string,
  sizeBytes: number | undefined,
  overheadMs: number,
): void {
  const features = sizeBytes === undefined ? {} : { sizeBytes };
  observeUsage(watch.model, overheadKey(taskType), features, { durationMs: Math.max(0, overheadMs) });
}

/** The same string each time: a fresh one would be hashed again at every lookup, for each running micro-task a tick. */
const overheadKeys = new Map<string, string>();

function overheadKey(taskType: string): string {
  let key = overheadKeys.get(taskType);
  if (key === undefined) overheadKeys.set(taskType, (key = `${taskType} (dispatch)`));
  return key;
}

function judgeCompletion(
  watch: UsageWatch,
  taskType: string,
  sizeBytes: number | undefined,
  actual: CompletedUsage,
): AnomalyEvent | undefined {
  const { model, detector } = watch;
  const duration = predictFromHistory(model, taskType, 'duration', sizeBytes);
  const cores = predictFromHistory(model, taskType, 'cpu', sizeBytes);
  const { allowanceLog } = duration;
  const predictedCpuMs = duration.value * cores.value;
  // Where CPU time is measured and predicted it decides: waiting for a core (or a scheduler slice) costs none.
  const decisive = actual.cpuMs !== undefined && Number.isFinite(predictedCpuMs) ? 'cpuTime' : 'duration';
  const ready = ratioStatistics(detector, taskType, decisive).ready; // before this one: the cold rule stays out
  // Both windows learn from every completion, whatever the verdict.
  const elapsed = observeCompleted(detector, taskType, 'duration', actual.durationMs, duration.value, {
    allowanceLog,
  });
  const cpuTime =
    actual.cpuMs === undefined
      ? undefined
      : observeCompleted(detector, taskType, 'cpuTime', actual.cpuMs, predictedCpuMs, { allowanceLog });
  if (!ready) return undefined;
  return decisive === 'cpuTime' ? cpuTime : elapsed;
}
