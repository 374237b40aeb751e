import { createAnomalyDetector, observeCompleted, type AnomalyDetector } from '../predict/anomaly.js';
import { createUsageModel, observeUsage, predictUsage, predictUsageValue, usageError, type ResourceHints, type UsageModel } from '../predict/usage-model.js';

/** A micro-task that ran far above its predicted duration. */
export interface AnomalyRecord {
  readonly atMs: number;
  readonly taskType: string;
  readonly microTask: string;
  readonly ratio: number;
  readonly reason: string;
}

/** Per task type: the usage model's current duration prediction and how wrong it has been. */
export interface UsageView {
  readonly predictedDurationMs: number | undefined;
  readonly basis: 'hint' | 'history' | 'none';
  /** Median absolute percentage error of the duration prediction (undefined: too few scored). */
  readonly durationErrorPercent: number | undefined;
  readonly observations: number;
}

const ANOMALIES_KEPT = 100;
/** Micro-tasks shorter than this are observed 1 in SAMPLE_EVERY: the model would cost more than the work. */
const TINY_MS = 1;
const SAMPLE_EVERY = 64;

/**
 * The feedback loop on the results path: every completed micro-task (sampled when tiny) updates
 * its type's usage model and is checked against the prediction made before it (anomalies).
 */
export class UsageTracker {
  private readonly model: UsageModel = createUsageModel();
  private readonly detector: AnomalyDetector = createAnomalyDetector();
  private readonly completions = new Map<string, number>();
  readonly anomalies: AnomalyRecord[] = [];

  constructor(private readonly hints: ReadonlyMap<string, ResourceHints>) {}

  completed(taskType: string, microTask: string, durationMs: number, atMs: number): void {
    const count = (this.completions.get(taskType) ?? 0) + 1;
    this.completions.set(taskType, count);
    if (durationMs < TINY_MS && count % SAMPLE_EVERY !== 0) return;
    const predicted = predictUsageValue(this.model, taskType, 'duration');
    observeUsage(this.model, taskType, { hints: this.hints.get(taskType) }, { durationMs });
    if (!Number.isFinite(predicted)) return;
    const event = observeCompleted(this.detector, taskType, 'duration', durationMs, predicted);
    if (!event) return;
    this.anomalies.push({ atMs, taskType, microTask, ratio: event.ratio, reason: event.reason });
    if (this.anomalies.length > ANOMALIES_KEPT) this.anomalies.shift();
  }

  view(taskType: string): UsageView {
    const estimate = predictUsage(this.model, taskType, { hints: this.hints.get(taskType) }).duration;
    const error = usageError(this.model, taskType, 'duration');
    return {
      predictedDurationMs: estimate.basis === 'none' ? undefined : estimate.value,
      basis: estimate.basis,
      durationErrorPercent: error.medianAbsolutePercentageError.ready ? error.medianAbsolutePercentageError.value * 100 : undefined,
      observations: error.observations,
    };
  }
}
