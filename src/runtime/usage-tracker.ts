import { checkRunning, createAnomalyDetector, observeCompleted, type AnomalyDetector, type AnomalyEvent } from '../predict/anomaly.js';
import { createUsageModel, observeUsage, predictUsage, predictUsageValue, usageError, type ResourceHints, type UsageModel } from '../predict/usage-model.js';

/** A micro-task that ran far above its predicted duration. */
export interface AnomalyRecord {
  readonly atMs: number;
  readonly taskType: string;
  readonly microTask: string;
  readonly ratio: number;
  /** Found when it finished, or while it was still running (a runaway). */
  readonly phase: 'completed' | 'running';
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
  /** Running micro-tasks already flagged (by task id), so each is reported once. */
  private readonly flaggedRunning = new Set<number>();
  readonly anomalies: AnomalyRecord[] = [];

  constructor(
    private readonly hints: ReadonlyMap<string, ResourceHints>,
    /** Each type's size feature, if it declares one. */
    private readonly sizeOf: ReadonlyMap<string, (input: unknown) => number> = new Map(),
  ) {}

  completed(taskType: string, taskId: number, microTask: string, durationMs: number, atMs: number, input: unknown): void {
    const count = (this.completions.get(taskType) ?? 0) + 1;
    this.completions.set(taskType, count);
    if (durationMs < TINY_MS && count % SAMPLE_EVERY !== 0) return;
    const sizeBytes = this.sizeFor(taskType, input);
    const predicted = predictUsageValue(this.model, taskType, 'duration', sizeBytes);
    observeUsage(this.model, taskType, { hints: this.hints.get(taskType), ...(sizeBytes !== undefined && { sizeBytes }) }, { durationMs });
    if (!Number.isFinite(predicted)) return;
    const event = observeCompleted(this.detector, taskType, 'duration', durationMs, predicted);
    // Reported once per micro-task: one already flagged while running is not reported again.
    const flagged = this.flaggedRunning.delete(taskId);
    if (event && !flagged) this.record(event, atMs, microTask);
  }

  /** A micro-task still running: flags it once when its elapsed time alone is already anomalous. */
  running(taskType: string, taskId: number, microTask: string, elapsedMs: number, atMs: number): AnomalyEvent | undefined {
    if (this.flaggedRunning.has(taskId)) return undefined;
    const predicted = predictUsageValue(this.model, taskType, 'duration');
    if (!Number.isFinite(predicted)) return undefined;
    const event = checkRunning(this.detector, taskType, elapsedMs, predicted);
    if (!event) return undefined;
    this.flaggedRunning.add(taskId);
    if (this.flaggedRunning.size > ANOMALIES_KEPT * 10) this.flaggedRunning.clear();
    this.record(event, atMs, microTask);
    return event;
  }

  private record(event: AnomalyEvent, atMs: number, microTask: string): void {
    this.anomalies.push({ atMs, taskType: event.taskType, microTask, ratio: event.ratio, phase: event.phase, reason: event.reason });
    if (this.anomalies.length > ANOMALIES_KEPT) this.anomalies.shift();
  }

  /** A throwing or non-numeric size hook just gives no feature. */
  private sizeFor(taskType: string, input: unknown): number | undefined {
    const sizeOf = this.sizeOf.get(taskType);
    if (!sizeOf) return undefined;
    try {
      const size = sizeOf(input);
      return Number.isFinite(size) && size >= 0 ? size : undefined;
    } catch {
      return undefined;
    }
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
