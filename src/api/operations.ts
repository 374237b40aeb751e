import type {
  AnomalyView,
  DecisionView,
  ForecastView,
  JobView,
  LogLineView,
  NodeView,
  StatusView,
  SwarmletView,
} from './schemas.js';

/** Where a run's measurements come from, for /metrics (counters only grow; gauges are now). */
export interface MetricsView {
  readonly microTasks: readonly { taskType: string; outcome: 'done' | 'failed' | 'retried'; count: number }[];
  /** Completed micro-tasks per duration bucket (upper bounds in ms; counts per bucket, the last one +Inf), per type. */
  readonly durations: readonly {
    taskType: string;
    bucketsMs: readonly number[];
    counts: readonly number[];
    sumMs: number;
  }[];
  /** Live swarmlets (not stopped) per type and state. */
  readonly swarmlets: readonly { taskType: string; state: string; count: number }[];
  readonly morphActions: readonly { kind: string; count: number }[];
  /** Per task type; the priority classes share one count (the dispatcher keeps no split by class). */
  readonly queueDepth: readonly { taskType: string; depth: number }[];
  readonly coldStarts: number;
  readonly predictionError: readonly { taskType: string; ratio: number }[];
  readonly nodes: readonly { node: string; state: string }[];
  readonly jobs: readonly { state: string; count: number }[];
}

/**
 * What the HTTP API, the dashboard and the metrics read and do: one interface, implemented by the embedded runtime
 * (api/embedded-operations.ts) and by the cluster director. Reads are synchronous views of what is already measured;
 * nothing here runs on the loop's path.
 */
export interface Operations {
  readonly mode: 'embedded' | 'cluster';
  status(): StatusView;
  jobs(): JobView[];
  /** Accepts a job; throws InputError (names the field) or AdmissionError. */
  submit(body: unknown): Promise<{ jobId: string }>;
  /** undefined: no such job; otherwise its state after the call (`cancelled`, or how it had already ended). */
  cancel(jobId: string): Promise<'cancelled' | 'done' | 'failed' | undefined>;
  swarmlets(): SwarmletView[];
  nodes(): NodeView[];
  /** Decisions with seq > after, oldest first, at most limit. */
  decisions(after: number, limit: number): DecisionView[];
  anomalies(): AnomalyView[];
  forecasts(): ForecastView[];
  /** The cluster reads them from Redis (agents ship them there), hence a promise. */
  logs(target: { swarmletId: string } | { microTaskId: string }): LogLineView[] | Promise<LogLineView[]>;
  metrics(): MetricsView;
}
