import type { NodeReservations } from './node-reservations.js';
import type { TypeCounts } from './jobs/job-tracker.js';
import { groupActions, type ActionRecord, type FaultRecord, type LimitsReport, type RunSummary } from './run-report.js';
import type { SwarmletRecord } from './swarmlet-record.js';
import type { TypeStats } from './type-stats.js';
import type { UsageTracker } from './usage-tracker.js';
import type { JobOutcome } from './job-outcomes.js';

/** Live progress per task type: done/total, rate since the previous view, swarmlets serving it. */
export interface ProgressView {
  readonly atMs: number;
  readonly taskTypes: readonly {
    taskType: string;
    done: number;
    total: number;
    swarmlets: number;
    ratePerSec: number;
  }[];
}

/** What the orchestrator measured, read (never changed) to build progress views and the summary. */
export interface ReportSources {
  readonly stats: ReadonlyMap<string, TypeStats>;
  readonly counts: ReadonlyMap<string, TypeCounts>;
  /** Live and recently stopped swarmlets. */
  readonly swarmlets: readonly SwarmletRecord[];
  readonly actionLog: readonly ActionRecord[];
  /** Actions logged since the start (the log keeps the last ones): the sequence number after the newest. */
  readonly actionsLogged: number;
  readonly actionCounts: ReadonlyMap<string, number>;
  /** Micro-tasks waiting in the queue per task type. */
  readonly queued: ReadonlyMap<string, number>;
  readonly faults: readonly FaultRecord[];
  readonly usage: UsageTracker;
  readonly jobs: readonly JobOutcome[];
  readonly reservations: NodeReservations;
  readonly limits: LimitsReport;
}

export function progressView(nowMs: number, previous: ProgressView | undefined, sources: ReportSources): ProgressView {
  const elapsedMs = previous ? nowMs - previous.atMs : 0;
  return {
    atMs: nowMs,
    taskTypes: [...sources.stats.values()].map((stats) => {
      const counts = sources.counts.get(stats.taskType);
      const done = counts?.done ?? 0;
      const before = previous?.taskTypes.find((t) => t.taskType === stats.taskType)?.done ?? 0;
      const swarmlets = sources.swarmlets.filter((s) => s.state !== 'stopped' && s.taskType === stats.taskType).length;
      return {
        taskType: stats.taskType,
        done,
        total: counts?.total ?? 0,
        swarmlets,
        ratePerSec: elapsedMs > 0 ? ((done - before) * 1000) / elapsedMs : 0,
      };
    }),
  };
}

export function runSummary(wallMs: number, startedAtMs: number, policy: string, sources: ReportSources): RunSummary {
  const taskTypes = [...sources.stats.values()].map((stats) => {
    const counts = sources.counts.get(stats.taskType);
    const report = { ...stats.report, total: counts?.total ?? 0, done: counts?.done ?? 0 };
    return {
      ...report,
      meanDurationMs: report.done > 0 ? report.durationMsTotal / report.done : 0,
      meanColdStartMs: report.coldStarts > 0 ? report.coldStartMsTotal / report.coldStarts : 0,
      usage: sources.usage.view(stats.taskType),
    };
  });
  const microTasks = taskTypes.reduce((sum, t) => sum + t.done, 0);
  return {
    policy,
    wallMs,
    microTasks,
    throughputPerSec: wallMs > 0 ? (microTasks * 1000) / wallMs : 0,
    coldStarts: taskTypes.reduce((sum, t) => sum + t.coldStarts, 0),
    taskTypes,
    actions: groupActions(sources.actionLog, startedAtMs),
    faults: sources.faults,
    anomalies: sources.usage.anomalies,
    jobs: sources.jobs,
    reservations: sources.reservations.report(),
    limits: sources.limits,
    swarmlets: sources.swarmlets.map((s) => ({
      id: s.id,
      taskType: s.taskType,
      state: s.state,
      monitor: s.lastSample,
      morphs: sources.actionLog.filter(({ action }) => 'swarmletId' in action && action.swarmletId === s.id).length,
    })),
  };
}
