/**
 * Anomaly detection: a micro-task whose usage is far above its prediction.
 *
 * Per task type and measure, the detector keeps the last `window` log ratios r = log(actual / predicted)
 * and their median and MAD (rolling-median.ts; exact, allocation-free, bounded cost a completion). A
 * completion is an anomaly when both
 *   - its robust z-score (r − median) / (1.4826 × max(MAD, madFloor)) exceeds `zThreshold`, and
 *   - its ratio actual / predicted exceeds `minFactor`,
 * so the threshold follows each type's own noise (robust statistics, not a fixed limit) and the jitter of
 * tiny, very regular tasks (MAD ≈ 0) does not alert on a 20 % wobble. Elapsed time must also exceed the
 * prediction by `minExcessMs` (`runningMinExcessMs` while running): a task of a few ms that waited one
 * scheduler time slice is not a runaway.
 *
 * A caller may add an allowance (log factor) to the prediction: the usage model's extrapolation allowance
 * for an input larger or smaller than any seen. Elapsed time also gets the detector's contention allowance:
 * a busy machine stretches every task at once, so the median deviation of the last `contentionWindow`
 * completions (all types) above their types' medians is tolerated on top (load-aware baseline).
 *
 * Before `minSamples` ratios there are no statistics yet; then only a ratio ≥ `coldFactor` alerts (the
 * prediction is likely just a hint, so the bar is high), with `zScore` NaN.
 *
 * `checkRunning` applies the same test to an in-flight task's elapsed time: elapsed is a lower bound on its
 * final duration, so once elapsed alone is anomalous the completion will be too, and a runaway is flagged at
 * the first monitor tick after it crosses `runawayThresholdMs` — within one monitor interval of becoming
 * one. It never feeds the window (an unfinished task is not an observation).
 */
import { checkPositiveInteger } from './forecast.js';
import {
  initRollingWindow,
  pushRolling,
  rollingMedian,
  rollingMedianAbsoluteDeviation,
  type RollingWindow,
} from './rolling-median.js';
import type { UsageActual, UsageMeasure, UsagePrediction } from './usage-model.js';
import { InputError } from '../core/errors.js';

/** The usage measures, plus `cpuTime`: CPU ms a micro-task used (not stretched by waiting for a core). */
export type AnomalyKind = UsageMeasure | 'cpuTime';

export interface AnomalyEvent {
  readonly kind: AnomalyKind;
  readonly taskType: string;
  /** 'completed' from a finished micro-task, 'running' from `checkRunning`. */
  readonly phase: 'completed' | 'running';
  readonly actual: number;
  readonly predicted: number;
  /** actual / predicted. */
  readonly ratio: number;
  /** Robust z-score of log(ratio); NaN before `minSamples` (cold rule). */
  readonly zScore: number;
  readonly reason: string;
}

export interface AnomalyOptions {
  /**
   * Robust z-score above which a ratio is anomalous. 4: under lognormal noise a false alarm is ~1 in 30,000; at 5,
   * a type as noisy as compress (σ ≈ 0.3) missed one 10× runaway in eight. Heavier tails meet `minFactor`.
   */
  readonly zThreshold: number;
  /**
   * Ratio actual / predicted that must also be exceeded: 3. Two runnable processes a core (a CPU hog beside
   * the run) already double elapsed time; a runaway worth reporting is well beyond that.
   */
  readonly minFactor: number;
  /**
   * Elapsed or CPU ms over the prediction that must also be exceeded: 20. A scheduler time slice under load
   * (elapsed) or a garbage collection (CPU time of all the swarmlet's threads) costs up to that without the
   * task doing anything wrong; measured: a 2 ms merge-sort leaf that used 13 ms of CPU on a loaded machine.
   */
  readonly minExcessMs: number;
  /**
   * The same for a running micro-task: 500. Its elapsed time counts from dispatch, so it includes the input's
   * transfer and the swarmlet's queue, which completed durations (measured around the run) exclude: 40–200 ms
   * for a merge-sort join of a few ms on a loaded machine. A runaway that ends sooner is judged when it completes.
   */
  readonly runningMinExcessMs: number;
  /** Recent completions (all types) whose median deviation estimates the machine's contention: 5 (0: none). */
  readonly contentionWindow: number;
  /** Ratios in the rolling window: 256. */
  readonly window: number;
  /** Ratios before the robust statistics are used: 20. */
  readonly minSamples: number;
  /** Ratio that alerts before `minSamples`: 10. */
  readonly coldFactor: number;
  /** Lower bound of the log-ratio MAD (0.05 ≈ 5 %), so a perfectly regular type does not get an infinite z. */
  readonly madFloor: number;
}

export const DEFAULT_ANOMALY: AnomalyOptions = {
  zThreshold: 4,
  minFactor: 3,
  minExcessMs: 20,
  runningMinExcessMs: 500,
  contentionWindow: 5,
  window: 256,
  minSamples: 20,
  coldFactor: 10,
  madFloor: 0.05,
};

/** MAD × 1.4826 estimates σ for normal data (here: of log ratios under lognormal noise). */
export const MAD_TO_SIGMA = 1.4826;

interface TypeRatios {
  readonly duration: RollingWindow;
  readonly cpu: RollingWindow;
  readonly memory: RollingWindow;
  readonly cpuTime: RollingWindow;
}

export interface AnomalyDetector {
  readonly options: AnomalyOptions;
  readonly types: Map<string, TypeRatios>;
  /** Log elapsed ratios of the latest completions minus their type's median (the contention estimate). */
  readonly recentDeviations: RollingWindow;
  /** Ratios observed so far: what was read from the detector holds until this moves. */
  learned: number;
}

/** Robust location and scale of one type and measure's log ratios; `ready` false before `minSamples`. */
export interface RatioStatistics {
  readonly ready: boolean;
  readonly samples: number;
  readonly medianLogRatio: number;
  readonly madLogRatio: number;
}

const NO_EVENTS: readonly AnomalyEvent[] = Object.freeze([]);

export function createAnomalyDetector(overrides: Partial<AnomalyOptions> = {}): AnomalyDetector {
  const options: AnomalyOptions = { ...DEFAULT_ANOMALY, ...overrides };
  checkPositiveInteger('anomaly.window', options.window);
  checkPositiveInteger('anomaly.minSamples', options.minSamples);
  if (options.contentionWindow !== 0) checkPositiveInteger('anomaly.contentionWindow', options.contentionWindow);
  if (options.minSamples > options.window)
    throw new InputError(
      'anomaly.minSamples',
      `${options.minSamples} exceeds the window (${options.window})`,
      'use minSamples ≤ window',
    );
  for (const field of ['zThreshold', 'madFloor'] as const) {
    if (!(options[field] > 0))
      throw new InputError(`anomaly.${field}`, `${options[field]} is not positive`, 'use a number > 0');
  }
  for (const field of ['minFactor', 'coldFactor'] as const) {
    if (!(options[field] >= 1))
      throw new InputError(`anomaly.${field}`, `${options[field]} is below 1`, 'use a factor ≥ 1');
  }
  for (const field of ['minExcessMs', 'runningMinExcessMs'] as const) {
    if (!(options[field] >= 0))
      throw new InputError(`anomaly.${field}`, `${options[field]} is negative`, 'use a number of ms ≥ 0');
  }
  return {
    options,
    types: new Map(),
    recentDeviations: initRollingWindow(Math.max(1, options.contentionWindow)),
    learned: 0,
  };
}

/** How a completion is judged beyond its type's statistics. */
export interface CompletionJudging {
  /** Log factor (≥ 0) the prediction is widened by, e.g. the usage model's extrapolation allowance. */
  readonly allowanceLog?: number;
  /** Overrides `options.minExcessMs`: lower it when another measure (CPU time) confirms the verdict. */
  readonly minExcessMs?: number;
  /** Add the contention allowance (default: for elapsed time only; not needed when CPU time confirms). */
  readonly loadAware?: boolean;
}

/**
 * One completed micro-task's measure against the prediction it was dispatched with. Scores it against the
 * window, then adds it. Returns the event, or undefined (allocation-free) when normal or unpredicted
 * (`predicted` NaN or ≤ 0: nothing to compare with).
 */
export function observeCompleted(
  detector: AnomalyDetector,
  taskType: string,
  kind: AnomalyKind,
  actual: number,
  predicted: number,
  judging: CompletionJudging = {},
): AnomalyEvent | undefined {
  const { allowanceLog = 0, minExcessMs = detector.options.minExcessMs, loadAware = kind === 'duration' } = judging;
  if (!Number.isFinite(actual) || actual < 0)
    throw new RangeError(`actual usage must be a finite number ≥ 0, got ${actual}`);
  if (!(predicted > 0) || !Number.isFinite(predicted) || actual === 0) return undefined;
  const window = ratiosOf(detector, taskType)[kind];
  const slackLog = allowanceLog + (loadAware ? contentionLog(detector) : 0);
  const judged = { phase: 'completed', minExcessMs } as const;
  const event = judge(detector.options, window, taskType, kind, judged, actual, predicted, slackLog);
  const logRatio = Math.log(actual / predicted);
  detector.learned += 1;
  if (kind === 'duration' && window.size >= detector.options.minSamples)
    pushRolling(detector.recentDeviations, logRatio - rollingMedian(window) - allowanceLog);
  pushRolling(window, logRatio);
  return event;
}

/**
 * How much the machine currently stretches elapsed time, as a log factor ≥ 0: the median of the latest
 * completions' deviations above their type's typical ratio. One runaway does not move a median; a CPU hog
 * that slows every swarmlet does, within a few completions.
 */
export function contentionLog(detector: AnomalyDetector): number {
  const recent = detector.recentDeviations;
  if (detector.options.contentionWindow === 0 || recent.size === 0) return 0;
  return Math.max(0, rollingMedian(recent));
}

/** All measures of one completion against its `UsagePrediction` (estimates with basis 'none' are skipped). */
export function observeCompletedUsage(
  detector: AnomalyDetector,
  prediction: UsagePrediction,
  actual: UsageActual,
): readonly AnomalyEvent[] {
  const duration = observeCompleted(
    detector,
    prediction.taskType,
    'duration',
    actual.durationMs,
    valueOf(prediction.duration),
  );
  const cpu =
    actual.cpu === undefined
      ? undefined
      : observeCompleted(detector, prediction.taskType, 'cpu', actual.cpu, valueOf(prediction.cpu));
  const memory =
    actual.memoryMb === undefined
      ? undefined
      : observeCompleted(detector, prediction.taskType, 'memory', actual.memoryMb, valueOf(prediction.memory));
  if (duration === undefined && cpu === undefined && memory === undefined) return NO_EVENTS;
  return [duration, cpu, memory].filter((event): event is AnomalyEvent => event !== undefined);
}

/**
 * An in-flight micro-task: is its elapsed time alone already anomalous (with the same allowances as a
 * completion's)? Does not learn.
 */
export function checkRunning(
  detector: AnomalyDetector,
  taskType: string,
  elapsedMs: number,
  predictedDurationMs: number,
  allowanceLog = 0,
): AnomalyEvent | undefined {
  if (!Number.isFinite(elapsedMs) || elapsedMs < 0)
    throw new RangeError(`elapsedMs must be a finite number ≥ 0, got ${elapsedMs}`);
  if (!(predictedDurationMs > 0) || !Number.isFinite(predictedDurationMs) || elapsedMs === 0) return undefined;
  const window = detector.types.get(taskType)?.duration;
  const slackLog = allowanceLog + contentionLog(detector);
  const judged = { phase: 'running', minExcessMs: detector.options.runningMinExcessMs } as const;
  return judge(detector.options, window, taskType, 'duration', judged, elapsedMs, predictedDurationMs, slackLog);
}

/**
 * The elapsed ÷ predicted ratio at or below which `checkRunning(detector, …, allowanceLog)` returns nothing: its
 * first, cheapest test, worked out once for many in-flight micro-tasks (it moves only when the detector learns).
 */
export function runningQuietRatio(detector: AnomalyDetector, allowanceLog = 0): number {
  return detector.options.minFactor * Math.exp(allowanceLog + contentionLog(detector));
}

/**
 * Elapsed time at which `checkRunning` starts flagging a task predicted to take `predictedDurationMs`:
 * max(predicted × slack × max(minFactor, exp(median + zThreshold × σ̂)), predicted × slack + minExcessMs),
 * with coldFactor instead before `minSamples`; slack = exp(allowance + contention).
 * The runtime can schedule its check there instead of polling every task.
 */
export function runawayThresholdMs(
  detector: AnomalyDetector,
  taskType: string,
  predictedDurationMs: number,
  allowanceLog = 0,
): number {
  const { options } = detector;
  const expectedMs = predictedDurationMs * Math.exp(allowanceLog + contentionLog(detector));
  const window = detector.types.get(taskType)?.duration;
  const floorMs = expectedMs + options.runningMinExcessMs;
  if (window === undefined || window.size < options.minSamples)
    return Math.max(expectedMs * options.coldFactor, floorMs);
  const median = rollingMedian(window);
  const sigma = MAD_TO_SIGMA * Math.max(rollingMedianAbsoluteDeviation(window, median), options.madFloor);
  return Math.max(expectedMs * Math.max(options.minFactor, Math.exp(median + options.zThreshold * sigma)), floorMs);
}

/** Whether `ratioStatistics` would be ready, without computing them (the running check asks every tick). */
export function ratiosReady(detector: AnomalyDetector, taskType: string, kind: AnomalyKind): boolean {
  const window = detector.types.get(taskType)?.[kind];
  return window !== undefined && window.size > 0 && window.size >= detector.options.minSamples;
}

export function ratioStatistics(detector: AnomalyDetector, taskType: string, kind: AnomalyKind): RatioStatistics {
  const window = detector.types.get(taskType)?.[kind];
  if (window === undefined || window.size === 0)
    return { ready: false, samples: 0, medianLogRatio: Number.NaN, madLogRatio: Number.NaN };
  const median = rollingMedian(window);
  return {
    ready: window.size >= detector.options.minSamples,
    samples: window.size,
    medianLogRatio: median,
    madLogRatio: rollingMedianAbsoluteDeviation(window, median),
  };
}

/** `slackLog`: the allowances (extrapolation, contention) the prediction is widened by before judging. */
function judge(
  options: AnomalyOptions,
  window: RollingWindow | undefined,
  taskType: string,
  kind: AnomalyKind,
  { phase, minExcessMs }: { readonly phase: 'completed' | 'running'; readonly minExcessMs: number },
  actual: number,
  predicted: number,
  slackLog: number,
): AnomalyEvent | undefined {
  const ratio = actual / predicted;
  const slack = Math.exp(slackLog);
  if (ratio <= options.minFactor * slack) return undefined; // the cheap, common exit: no statistics needed
  const timed = kind === 'duration' || kind === 'cpuTime';
  if (timed && actual - predicted * slack <= minExcessMs) return undefined;
  const what =
    phase === 'running' ? `still running after ${formatValue(kind, actual)}` : `used ${formatValue(kind, actual)}`;
  const allowed = slackLog > 0 ? `, ${slack.toFixed(1)}× allowed for input size and machine load` : '';
  if (window === undefined || window.size < options.minSamples) {
    if (ratio < options.coldFactor * slack) return undefined;
    const samples = window?.size ?? 0;
    const reason = `${taskType} ${what}, ${ratio.toFixed(1)}× its predicted ${formatValue(kind, predicted)}${allowed}; only ${samples} of ${options.minSamples} completions for robust statistics, so the cold limit ${options.coldFactor}× applies`;
    return { kind, taskType, phase, actual, predicted, ratio, zScore: Number.NaN, reason };
  }
  const median = rollingMedian(window);
  const mad = Math.max(rollingMedianAbsoluteDeviation(window, median), options.madFloor);
  const zScore = (Math.log(ratio) - slackLog - median) / (MAD_TO_SIGMA * mad);
  if (zScore <= options.zThreshold) return undefined;
  const typical = Math.exp(median);
  const reason =
    `${taskType} ${what}, ${ratio.toFixed(1)}× its predicted ${formatValue(kind, predicted)}${allowed} ` +
    `(typical ratio ${typical.toFixed(2)}×, robust z ${zScore.toFixed(1)} > ${options.zThreshold} over the last ${window.size} completions)`;
  return { kind, taskType, phase, actual, predicted, ratio, zScore, reason };
}

function ratiosOf(detector: AnomalyDetector, taskType: string): TypeRatios {
  let ratios = detector.types.get(taskType);
  if (ratios === undefined) {
    const size = detector.options.window;
    ratios = {
      duration: initRollingWindow(size),
      cpu: initRollingWindow(size),
      memory: initRollingWindow(size),
      cpuTime: initRollingWindow(size),
    };
    detector.types.set(taskType, ratios);
  }
  return ratios;
}

function valueOf(estimate: UsagePrediction['duration']): number {
  return estimate.basis === 'none' ? Number.NaN : estimate.value;
}

function formatValue(kind: AnomalyKind, value: number): string {
  const digits = value >= 100 ? 0 : value >= 1 ? 1 : 3;
  const unit = kind === 'duration' ? ' ms' : kind === 'cpuTime' ? ' ms of CPU' : kind === 'cpu' ? ' cores' : ' MB';
  return `${value.toFixed(digits)}${unit}`;
}
