/**
 * Usage models: per task type, what a micro-task will cost — duration (ms), CPU (cores), peak memory (MB) —
 * from its input size, the type's declared hints and the history of completed micro-tasks (the feedback
 * loop: `observeUsage` once per completion).
 *
 * Per type and measure, an online robust log-log regression on input size (log-regression.ts); without a
 * size feature it learns the (geometric) mean level. Before `minHistory` completions the type's hint is the
 * prediction (`basis: 'hint'`); with neither, the prediction is "no data yet" (`basis: 'none'`, STYLE.md §3).
 *
 * Each measure tracks its own error as a decision would have seen it: the prediction made just before each
 * completion (hint or history) against the actual value, as the median absolute percentage error over the
 * last `errorWindow` completions (rolling-median.ts).
 *
 * Hot path: `observeUsage` and `predictUsageValue` are O(1) (the error window's median is a bounded
 * memmove) and allocate nothing once a type is known; `predictUsage` builds one result object.
 */
import { notReady, checkUnitInterval, checkPositiveInteger } from './forecast.js';
import type { ErrorResult } from './forecast-error.js';
import {
  extrapolationLog,
  initLogRegression,
  logSize,
  observeLog,
  predictLog,
  residualSpread,
  type LogRegressionOptions,
  type LogRegressionState,
} from './log-regression.js';
import { initRollingWindow, pushRolling, rollingMedian, type RollingWindow } from './rolling-median.js';
import { InputError } from '../core/errors.js';

export type UsageMeasure = 'duration' | 'cpu' | 'memory';
export const USAGE_MEASURES: readonly UsageMeasure[] = ['duration', 'cpu', 'memory'];

/** The task definition's `resources` hints (TaskDefinition.resources). */
export interface ResourceHints {
  readonly durationMs?: number;
  readonly cpu?: number;
  readonly memoryMb?: number;
}

export interface UsageFeatures {
  /** Input size in bytes; absent when the type has no size feature. */
  readonly sizeBytes?: number;
  /** The type's declared hints; remembered per type (the latest given wins), so they may be passed once. */
  readonly hints?: ResourceHints;
}

/** What a completed micro-task used; a measure the monitor did not report is left out. */
export interface UsageActual {
  readonly durationMs: number;
  readonly cpu?: number;
  readonly memoryMb?: number;
}

export interface UsageModelOptions extends LogRegressionOptions {
  /** Completions of a type before history replaces its hint. Without a hint, history is used from the first. */
  readonly minHistory: number;
  /** Completions in the error window (median absolute percentage error). */
  readonly errorWindow: number;
  /** z of the prediction interval in log space (1.96 ≈ 95 % under lognormal noise). */
  readonly z: number;
  /** Log-space spread assumed before two residuals exist (0.5 ≈ ×/÷ 1.65 per σ). */
  readonly defaultLogSpread: number;
  /** A hint's interval is [hint / factor, hint × factor]: hints are guesses. */
  readonly hintSpreadFactor: number;
  readonly hintConfidence: number;
  /** Values are floored here before the log (a 0-core or 0 ms reading is "tiny", not −∞). */
  readonly floorDurationMs: number;
  readonly floorCpu: number;
  readonly floorMemoryMb: number;
}

/**
 * Defaults: forgetting 0.97 (memory ≈ 33 completions: a doubled cost is learned within ~60, see the tests),
 * prior slope 0 with ridge 1, Huber clip at 3σ after 10 completions, 6 clipped in a row on one side are a shift
 * (a cost ×5000 is learned within 6 completions; 4 also fired on runs of slower micro-tasks within a type in the
 * WfCommons 1000genome traces), hint until 3 completions, error window 200.
 */
export const DEFAULT_USAGE_MODEL: UsageModelOptions = {
  forgetting: 0.97,
  priorSlope: 0,
  ridge: 1,
  clipSigmas: 3,
  clipAfter: 10,
  shiftAfter: 6,
  minHistory: 3,
  errorWindow: 200,
  z: 1.96,
  defaultLogSpread: 0.5,
  hintSpreadFactor: 3,
  hintConfidence: 0.2,
  floorDurationMs: 0.01,
  floorCpu: 0.001,
  floorMemoryMb: 0.01,
};

interface MeasureState {
  readonly fit: LogRegressionState;
  /** |actual − predicted| / actual of recent completions that had a prediction. */
  readonly errors: RollingWindow;
  observations: number;
  scored: number;
}

interface TypeUsageState {
  hints: ResourceHints | undefined;
  readonly duration: MeasureState;
  readonly cpu: MeasureState;
  readonly memory: MeasureState;
}

export interface UsageModel {
  readonly options: UsageModelOptions;
  readonly types: Map<string, TypeUsageState>;
  /** Observations folded in so far: what was read from the model holds until this moves. */
  learned: number;
}

export type UsageEstimate =
  | { readonly basis: 'none'; readonly reason: string }
  | {
      readonly basis: 'hint' | 'history';
      /** Predicted median. */
      readonly value: number;
      readonly low: number;
      readonly high: number;
      /** 0..1, as in forecast.ts: precision (narrow interval) × maturity (enough history). */
      readonly confidence: number;
      /** Completions the estimate learned from (0 for a hint). */
      readonly samples: number;
      readonly reason: string;
    };

export interface UsagePrediction {
  readonly taskType: string;
  /** False until the type has a completion: decisions use the hints, or wait (STYLE.md §3). */
  readonly hasData: boolean;
  readonly duration: UsageEstimate;
  readonly cpu: UsageEstimate;
  readonly memory: UsageEstimate;
}

export interface UsageErrorReport {
  /** Median absolute percentage error (0.1 = 10 %) over the last `errorWindow` scored completions. */
  readonly medianAbsolutePercentageError: ErrorResult;
  /** Completions observed with this measure reported. */
  readonly observations: number;
  /** Completions that had a prediction (hint or history) to score, over all time. */
  readonly scored: number;
}

export function createUsageModel(overrides: Partial<UsageModelOptions> = {}): UsageModel {
  const options: UsageModelOptions = { ...DEFAULT_USAGE_MODEL, ...overrides };
  checkUnitInterval('usage.forgetting', options.forgetting, false);
  checkPositiveInteger('usage.errorWindow', options.errorWindow);
  checkPositiveInteger('usage.minHistory', options.minHistory);
  if (!Number.isInteger(options.shiftAfter) || options.shiftAfter < 2)
    throw new InputError(
      'usage.shiftAfter',
      `${options.shiftAfter} is not an integer ≥ 2`,
      'use an integer ≥ 2 (one clipped residual is a runaway, not a shift)',
    );
  for (const field of [
    'ridge',
    'clipSigmas',
    'z',
    'defaultLogSpread',
    'floorDurationMs',
    'floorCpu',
    'floorMemoryMb',
  ] as const) {
    if (!(options[field] > 0))
      throw new InputError(`usage.${field}`, `${options[field]} is not positive`, 'use a number > 0');
  }
  if (!(options.hintSpreadFactor >= 1))
    throw new InputError('usage.hintSpreadFactor', `${options.hintSpreadFactor} is below 1`, 'use a factor ≥ 1');
  checkUnitInterval('usage.hintConfidence', options.hintConfidence, true);
  return { options, types: new Map(), learned: 0 };
}

/** Point prediction (the median) for one measure; NaN = no data yet. Allocation-free for a known type. */
export function predictUsageValue(
  model: UsageModel,
  taskType: string,
  measure: UsageMeasure,
  sizeBytes?: number,
): number {
  const type = model.types.get(taskType);
  if (type === undefined) return Number.NaN;
  return pointValue(model.options, type[measure], hintOf(type.hints, measure), logSizeOrNaN(sizeBytes));
}

/**
 * What the anomaly detector compares against: the point prediction from history only (NaN while the type
 * has fewer than `minHistory` completions: a hint is a guess, and no data is not an anomaly), and the
 * extrapolation allowance (log factor ≥ 0) when `sizeBytes` lies outside the sizes seen.
 */
export function predictFromHistory(
  model: UsageModel,
  taskType: string,
  measure: UsageMeasure,
  sizeBytes?: number,
): { readonly value: number; readonly allowanceLog: number } {
  const fit = model.types.get(taskType)?.[measure].fit;
  if (fit === undefined || fit.samples < model.options.minHistory) return { value: Number.NaN, allowanceLog: 0 };
  const u = logSizeOrNaN(sizeBytes);
  return {
    value: Math.exp(predictLog(fit, model.options, u)),
    allowanceLog: extrapolationLog(fit, model.options, u),
  };
}

export function predictUsage(model: UsageModel, taskType: string, features: UsageFeatures = {}): UsagePrediction {
  const type = typeState(model, taskType, features.hints);
  const u = logSizeOrNaN(features.sizeBytes);
  return {
    taskType,
    hasData: type.duration.observations > 0,
    duration: estimate(model.options, type.duration, hintOf(type.hints, 'duration'), u, 'duration'),
    cpu: estimate(model.options, type.cpu, hintOf(type.hints, 'cpu'), u, 'cpu'),
    memory: estimate(model.options, type.memory, hintOf(type.hints, 'memory'), u, 'memory'),
  };
}

/** The feedback loop: one completed micro-task. Scores the prediction it would have had, then learns. */
export function observeUsage(model: UsageModel, taskType: string, features: UsageFeatures, actual: UsageActual): void {
  const type = typeState(model, taskType, features.hints);
  const u = logSizeOrNaN(features.sizeBytes);
  const { options } = model;
  model.learned += 1;
  observeMeasure(options, type.duration, hintOf(type.hints, 'duration'), u, actual.durationMs, options.floorDurationMs);
  if (actual.cpu !== undefined)
    observeMeasure(options, type.cpu, hintOf(type.hints, 'cpu'), u, actual.cpu, options.floorCpu);
  if (actual.memoryMb !== undefined)
    observeMeasure(options, type.memory, hintOf(type.hints, 'memory'), u, actual.memoryMb, options.floorMemoryMb);
}

export function usageError(model: UsageModel, taskType: string, measure: UsageMeasure): UsageErrorReport {
  const state = model.types.get(taskType)?.[measure];
  if (state === undefined)
    return { medianAbsolutePercentageError: notReady(`no completion of ${taskType} yet`), observations: 0, scored: 0 };
  const { errors } = state;
  const value: ErrorResult =
    errors.size === 0
      ? notReady(`no ${measure} prediction of ${taskType} scored yet (${state.observations} completion(s), no hint)`)
      : { ready: true, value: rollingMedian(errors), points: errors.size };
  return { medianAbsolutePercentageError: value, observations: state.observations, scored: state.scored };
}

function observeMeasure(
  options: UsageModelOptions,
  state: MeasureState,
  hint: number,
  u: number,
  actual: number,
  floor: number,
): void {
  if (!Number.isFinite(actual) || actual < 0)
    throw new RangeError(`observed usage must be a finite number ≥ 0, got ${actual}`);
  const predicted = pointValue(options, state, hint, u);
  if (!Number.isNaN(predicted) && actual > 0) {
    pushRolling(state.errors, Math.abs(actual - predicted) / actual);
    state.scored += 1;
  }
  observeLog(state.fit, options, u, Math.log(Math.max(actual, floor)));
  state.observations += 1;
}

function pointValue(options: UsageModelOptions, state: MeasureState, hint: number, u: number): number {
  if (usesHistory(options, state, hint)) return Math.exp(predictLog(state.fit, options, u));
  return hint; // NaN when there is no hint either
}

function usesHistory(options: UsageModelOptions, state: MeasureState, hint: number): boolean {
  return state.fit.samples >= options.minHistory || (state.fit.samples > 0 && Number.isNaN(hint));
}

function estimate(
  options: UsageModelOptions,
  state: MeasureState,
  hint: number,
  u: number,
  measure: UsageMeasure,
): UsageEstimate {
  const samples = state.fit.samples;
  if (usesHistory(options, state, hint)) {
    const center = predictLog(state.fit, options, u);
    const measured = residualSpread(state.fit);
    const spread = Number.isNaN(measured) ? options.defaultLogSpread : measured;
    const precision = 1 / (1 + spread);
    const maturity = samples / (samples + options.minHistory);
    const sizeNote = Number.isNaN(u) ? 'no size feature' : 'by input size';
    return {
      basis: 'history',
      value: Math.exp(center),
      low: Math.exp(center - options.z * spread),
      high: Math.exp(center + options.z * spread),
      confidence: precision * maturity,
      samples,
      reason: `${measure} from ${samples} completion(s), ${sizeNote}, log spread ${spread.toFixed(2)}`,
    };
  }
  if (!Number.isNaN(hint)) {
    return {
      basis: 'hint',
      value: hint,
      low: hint / options.hintSpreadFactor,
      high: hint * options.hintSpreadFactor,
      confidence: options.hintConfidence,
      samples: 0,
      reason: `${measure} from the declared hint; ${samples} of ${options.minHistory} completion(s) before history is used`,
    };
  }
  return { basis: 'none', reason: `no data yet: no ${measure} hint and no completion` };
}

function typeState(model: UsageModel, taskType: string, hints: ResourceHints | undefined): TypeUsageState {
  let type = model.types.get(taskType);
  if (type === undefined) {
    const window = model.options.errorWindow;
    const measure = (): MeasureState => ({
      fit: initLogRegression(),
      errors: initRollingWindow(window),
      observations: 0,
      scored: 0,
    });
    type = { hints, duration: measure(), cpu: measure(), memory: measure() };
    model.types.set(taskType, type);
  } else if (hints !== undefined) {
    type.hints = hints;
  }
  return type;
}

function hintOf(hints: ResourceHints | undefined, measure: UsageMeasure): number {
  const value = measure === 'duration' ? hints?.durationMs : measure === 'cpu' ? hints?.cpu : hints?.memoryMb;
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : Number.NaN;
}

function logSizeOrNaN(sizeBytes: number | undefined): number {
  if (sizeBytes === undefined) return Number.NaN;
  if (!Number.isFinite(sizeBytes) || sizeBytes < 0)
    throw new RangeError(`sizeBytes must be a finite number ≥ 0, got ${sizeBytes}`);
  return logSize(sizeBytes);
}
