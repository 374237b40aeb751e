import type { AnomalyEvent } from '../predict/anomaly.js';
import type { ErrorResult } from '../predict/forecast-error.js';
import {
  checkRunningAgainst,
  createUsageWatch,
  learnedSoFar,
  observeDispatchOverhead,
  observeTaskCompletion,
  runningBaseline,
  type RunningBaseline,
  type UsageWatch,
} from '../predict/usage-anomaly.js';
import {
  observeUsage,
  predictFromHistory,
  predictUsage,
  predictUsageValue,
  usageError,
  type ResourceHints,
  type UsageMeasure,
} from '../predict/usage-model.js';
import { MODE_JOIN, RESULT_SPLIT } from './local/wire.js';

/**
 * Which of a task type's functions ran. `split`, `run` and `join` are different code with different costs
 * (merge-sort: a split of 2M numbers takes 0.1 ms, a leaf run of 31k 2 ms, a join of 62k 15 ms), so the
 * usage model and the detector keep each apart; the summary shows `run`'s.
 */
export type TaskPhase = 'run' | 'split' | 'join';

/** From a micro-task's mode and, once it finished, its result status. */
export function phaseOf(mode: number, status?: number): TaskPhase {
  if (mode === MODE_JOIN) return 'join';
  return status === RESULT_SPLIT ? 'split' : 'run';
}

function keyOf(taskType: string, phase: TaskPhase): string {
  return phase === 'run' ? taskType : `${taskType} (${phase})`;
}

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
  /** CPU in cores while a micro-task runs (1 = one core busy), and the swarmlet's resident memory at its end. */
  readonly cpu: MeasureView;
  readonly memoryMb: MeasureView;
}

export interface MeasureView {
  readonly predicted: number | undefined;
  /** Mean of what was measured (undefined: nothing measured yet; tiny micro-tasks are not). */
  readonly actualMean: number | undefined;
  readonly errorPercent: number | undefined;
  readonly observations: number;
}

/** CPU time and resident memory one micro-task reported (the swarmlet host measures them). */
export interface MeasuredUsage {
  readonly cpuUs: number;
  readonly rssKb: number;
}

/** A type's predicted duration of one micro-task: what the policy, admission and dispatch read. */
export interface DurationEstimate {
  predictedDurationMs(taskType: string): number | undefined;
}

interface Predictions {
  readonly learned: number;
  readonly durationMs: number | undefined;
  readonly memoryMb: number | undefined;
  readonly cpu: number | undefined;
  readonly durationErrorRatio: number | undefined;
}

function errorRatio(error: ErrorResult): number | undefined {
  return error.ready ? error.value : undefined;
}

const ANOMALIES_KEPT = 100;
/** Trail points kept per type (trimmed to half when full, so a push is O(1) amortized). */
const TRAIL_KEPT = 400;

export interface PredictionPoint {
  readonly atMs: number;
  /** What the model predicted before it learned from this micro-task (undefined: nothing yet). */
  readonly predictedMs: number | undefined;
  readonly actualMs: number;
}
/**
 * Micro-tasks shorter than TINY_MS are sampled once history predicts them that short too: observing one costs ~1.5 µs
 * (model and anomaly check), more than a 10 µs micro-task's work is worth. A type predicted at p ms is observed 1 in
 * ~TINY_MS / p (a power of 2, at most SAMPLE_EVERY): about one observation per millisecond of its work, so the model's
 * cost stays ~0.2 % of the work and it learns a change within a similar span of work whatever the size. The rate hangs
 * on the prediction, not on the micro-task at hand, so the sample is not biased by what it measures; micro-tasks of
 * TINY_MS or more are always observed. Before history, every one is observed: a type has an estimate from its first
 * completion (dispatch sizes its batches on it).
 */
const TINY_MS = 1;
const SAMPLE_EVERY = 64;

/**
 * The feedback loop on the results path: every completed micro-task (sampled when tiny) updates
 * its type's usage model and is checked against the prediction made before it for its size
 * (anomalies; what is not one is in predict/usage-anomaly.ts). The one duration estimate per type: the embedded
 * runtime's policy, admission, reservations and dispatch read `predictedDurationMs`, and so do the cluster director's
 * (its job book holds one) and each agent's dispatch (`completedDuration`: the same model and sampling, no anomalies).
 */
export class UsageTracker implements DurationEstimate {
  private readonly watch: UsageWatch = createUsageWatch();
  private get model() {
    return this.watch.model;
  }
  private readonly completions = new Map<string, number>();
  private readonly measured = new Map<string, { cpuSum: number; memorySum: number; count: number }>();
  /** Running micro-tasks already flagged (by task id), so each is reported once. */
  private readonly flaggedRunning = new Set<number>();
  /** When running micro-tasks were dispatched (seen by `running`), to learn the dispatch overhead. */
  private readonly dispatchedAtMs = new Map<number, number>();
  readonly anomalies: AnomalyRecord[] = [];
  /** Per type, the last observed micro-tasks' predicted against actual duration (the dashboard's prediction chart). */
  readonly trail = new Map<string, PredictionPoint[]>();
  /**
   * Each type's (and phase's) baseline for running micro-tasks without a size, null while they are not judged: the
   * same for every running micro-task of the type until the watch learns again (each tick checks every busy swarmlet).
   */
  private readonly runningBaselines = new Map<string, RunningBaseline | null>();
  /** Each type's predictions and what the model had learned when they were read (`predictionsOf`). */
  private readonly predictions = new Map<string, Predictions>();
  /** What the watch had learned when `runningBaselines` were worked out. */
  private baselinesLearned = 0;

  constructor(
    private readonly hints: ReadonlyMap<string, ResourceHints>,
    /** Each type's size feature, if it declares one. */
    private readonly sizeOf: ReadonlyMap<string, (input: unknown) => number> = new Map(),
  ) {}

  completed(
    taskType: string,
    taskId: number,
    microTask: string,
    durationMs: number,
    atMs: number,
    input: unknown,
    usage?: MeasuredUsage,
    phase: TaskPhase = 'run',
  ): void {
    if (this.sampledOut(taskType, keyOf(taskType, phase), durationMs)) return;
    const sizeBytes = this.sizeFor(taskType, input);
    const dispatchedAtMs = this.dispatchedAtMs.get(taskId);
    if (dispatchedAtMs !== undefined) {
      this.dispatchedAtMs.delete(taskId);
      const overheadMs = atMs - dispatchedAtMs - durationMs;
      observeDispatchOverhead(this.watch, keyOf(taskType, phase), sizeBytes, overheadMs);
    }
    if (phase === 'run') this.addToTrail(taskType, atMs, durationMs);
    const actual = usage === undefined ? { durationMs } : { durationMs, ...this.measure(taskType, durationMs, usage) };
    const hints = phase === 'run' ? this.hints.get(taskType) : undefined; // a hint describes run()
    const event = observeTaskCompletion(
      this.watch,
      keyOf(taskType, phase),
      { hints, ...(sizeBytes !== undefined && { sizeBytes }) },
      actual,
    );
    // Reported once per micro-task: one already flagged while running is not reported again.
    const flagged = this.flaggedRunning.delete(taskId);
    if (event && !flagged) this.record(taskType, event, atMs, microTask);
  }

  /**
   * A completed micro-task of which only its duration is known, where nobody watches for anomalies (the cluster
   * director's job book, an agent's dispatch): the same model, sampling and phases as `completed`, so every reader of
   * `predictedDurationMs` learns the same way from the same measurements. A duration that is not a finite number ≥ 0
   * (it came over the wire) teaches nothing.
   */
  completedDuration(taskType: string, durationMs: number, phase: TaskPhase = 'run'): void {
    if (!(durationMs >= 0 && Number.isFinite(durationMs))) return; // read off the wire: not a measurement
    const key = keyOf(taskType, phase);
    if (this.sampledOut(taskType, key, durationMs)) return;
    const hints = phase === 'run' ? this.hints.get(taskType) : undefined;
    observeUsage(this.model, key, { hints }, { durationMs });
  }

  private addToTrail(taskType: string, atMs: number, actualMs: number): void {
    let trail = this.trail.get(taskType);
    if (!trail) this.trail.set(taskType, (trail = []));
    trail.push({ atMs, predictedMs: this.predictedDurationMs(taskType), actualMs });
    if (trail.length > TRAIL_KEPT) trail.splice(0, trail.length - TRAIL_KEPT / 2);
  }

  /** Counts the completion; true when it is a tiny one left out (see TINY_MS). */
  private sampledOut(taskType: string, key: string, durationMs: number): boolean {
    const count = (this.completions.get(taskType) ?? 0) + 1;
    this.completions.set(taskType, count);
    if (durationMs >= TINY_MS) return false;
    const predicted = predictFromHistory(this.model, key, 'duration').value;
    if (!(predicted < TINY_MS)) return false; // NaN: too little history yet
    const every = Math.min(SAMPLE_EVERY, 2 ** Math.floor(Math.log2(TINY_MS / predicted)));
    return count % every !== 0;
  }

  /**
   * A micro-task still running: flags it once when its elapsed time alone is already anomalous. Pass its
   * `input` so a type with a size feature is judged at its size (without it: at the type's typical size),
   * and its phase (a join is judged against joins).
   */
  running(
    taskType: string,
    taskId: number,
    microTask: string,
    elapsedMs: number,
    atMs: number,
    input?: unknown,
    phase: TaskPhase = 'run',
  ): AnomalyEvent | undefined {
    if (this.flaggedRunning.has(taskId)) return undefined;
    if (!this.dispatchedAtMs.has(taskId)) {
      if (this.dispatchedAtMs.size > ANOMALIES_KEPT * 10) this.dispatchedAtMs.clear(); // bounded; a sample is lost
      this.dispatchedAtMs.set(taskId, atMs - elapsedMs);
    }
    const sizeBytes = input === undefined ? undefined : this.sizeFor(taskType, input);
    const key = keyOf(taskType, phase);
    const baseline = this.baselineOf(key, sizeBytes);
    const event = baseline && checkRunningAgainst(this.watch, key, baseline, elapsedMs);
    if (!event) return undefined;
    this.flaggedRunning.add(taskId);
    if (this.flaggedRunning.size > ANOMALIES_KEPT * 10) this.flaggedRunning.clear();
    this.record(taskType, event, atMs, microTask);
    return event;
  }

  private baselineOf(key: string, sizeBytes: number | undefined): RunningBaseline | undefined {
    if (sizeBytes !== undefined) return runningBaseline(this.watch, key, sizeBytes);
    if (learnedSoFar(this.watch) !== this.baselinesLearned) {
      this.runningBaselines.clear();
      this.baselinesLearned = learnedSoFar(this.watch);
    }
    let baseline = this.runningBaselines.get(key);
    if (baseline === undefined) this.runningBaselines.set(key, (baseline = runningBaseline(this.watch, key) ?? null));
    return baseline ?? undefined;
  }

  /**
   * A micro-task left its swarmlet without a result (killed, crashed, moved): its next attempt is a
   * new run, watched (and, under `onRunaway: 'kill'`, stopped) like the first.
   */
  forget(taskId: number): void {
    this.flaggedRunning.delete(taskId);
    this.dispatchedAtMs.delete(taskId);
  }

  private record(taskType: string, event: AnomalyEvent, atMs: number, microTask: string): void {
    this.anomalies.push({
      atMs,
      taskType,
      microTask,
      ratio: event.ratio,
      phase: event.phase,
      reason: event.reason,
    });
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
    const prediction = predictUsage(this.model, taskType, { hints: this.hints.get(taskType) });
    const estimate = prediction.duration;
    const error = usageError(this.model, taskType, 'duration');
    const sums = this.measured.get(taskType);
    const measureView = (measure: 'cpu' | 'memory', sum: number | undefined): MeasureView => {
      const measureError = usageError(this.model, taskType, measure);
      const predicted = prediction[measure];
      return {
        predicted: predicted.basis === 'none' ? undefined : predicted.value,
        actualMean: sums && sums.count > 0 && sum !== undefined ? sum / sums.count : undefined,
        errorPercent: measureError.medianAbsolutePercentageError.ready
          ? measureError.medianAbsolutePercentageError.value * 100
          : undefined,
        observations: measureError.observations,
      };
    };
    return {
      predictedDurationMs: estimate.basis === 'none' ? undefined : estimate.value,
      basis: estimate.basis,
      durationErrorPercent: error.medianAbsolutePercentageError.ready
        ? error.medianAbsolutePercentageError.value * 100
        : undefined,
      observations: error.observations,
      cpu: measureView('cpu', sums?.cpuSum),
      memoryMb: measureView('memory', sums?.memorySum),
    };
  }

  /**
   * A micro-task's predicted duration for the type (ms), from what completed (its hint until then); undefined: no
   * hint and nothing measured. The one estimate the policy, admission and reservations read.
   */
  predictedDurationMs(taskType: string): number | undefined {
    return this.predictionsOf(taskType).durationMs;
  }

  /**
   * How far off the duration prediction has been for the type: the median of |actual − predicted| ÷ actual over recent
   * completions (0.1: 10 %); undefined until some are scored.
   */
  durationErrorRatio(taskType: string): number | undefined {
    return this.predictionsOf(taskType).durationErrorRatio;
  }

  /** Predicted resident memory of a swarmlet serving the type (MB); undefined: no hint and nothing measured. */
  predictedMemoryMb(taskType: string): number | undefined {
    return this.predictionsOf(taskType).memoryMb;
  }

  /** Predicted cores a busy swarmlet of the type uses. */
  predictedCpu(taskType: string): number | undefined {
    return this.predictionsOf(taskType).cpu;
  }

  /**
   * The type's predictions and the duration's error, read again only once the model has learned since (they are read
   * every tick).
   */
  private predictionsOf(taskType: string): Predictions {
    const learned = this.model.learned;
    let predictions = this.predictions.get(taskType);
    if (predictions === undefined || predictions.learned !== learned) {
      const hints = this.hints.get(taskType);
      const predicted = (measure: UsageMeasure, hint: number | undefined): number | undefined => {
        const value = predictUsageValue(this.model, taskType, measure);
        return Number.isFinite(value) ? value : hint;
      };
      predictions = {
        learned,
        durationMs: predicted('duration', hints?.durationMs),
        memoryMb: predicted('memory', hints?.memoryMb),
        cpu: predicted('cpu', hints?.cpu),
        durationErrorRatio: errorRatio(usageError(this.model, taskType, 'duration').medianAbsolutePercentageError),
      };
      this.predictions.set(taskType, predictions);
    }
    return predictions;
  }

  private measure(taskType: string, durationMs: number, usage: MeasuredUsage): { cpuMs: number; memoryMb: number } {
    const cpuMs = usage.cpuUs / 1000;
    const memoryMb = usage.rssKb / 1024;
    const sums = this.measured.get(taskType) ?? { cpuSum: 0, memorySum: 0, count: 0 };
    sums.cpuSum += durationMs > 0 ? cpuMs / durationMs : 0; // in cores while it ran
    sums.memorySum += memoryMb;
    sums.count += 1;
    this.measured.set(taskType, sums);
    return { cpuMs, memoryMb };
  }
}
