import { InputError } from '../core/errors.js';
import { parseJob } from '../core/job.js';
import type { Action } from '../core/actions.js';
import type { Orchestrator } from '../runtime/orchestrator.js';
import { DURATION_BUCKETS_MS } from '../runtime/type-stats.js';
import type { Clock } from '../core/clock.js';
import type { MetricsView, Operations } from './operations.js';
import type { DecisionView, JobView, StatusView, SwarmletView } from './schemas.js';

export interface EmbeddedParts {
  readonly orchestrator: Orchestrator;
  readonly taskTypes: readonly string[];
  readonly clock: Clock;
  /** Extra checks on a submitted job (a fixed split refuses types it runs none of). */
  readonly check?: (job: ReturnType<typeof parseJob>) => void;
}

/** The embedded runtime seen through the API: views built on request from what the orchestrator measured. */
export function embeddedOperations(parts: EmbeddedParts): Operations {
  const { orchestrator } = parts;
  const sources = () => orchestrator.sources();
  return {
    mode: 'embedded',
    status: () => status(parts),
    jobs: () => orchestrator.jobs().map(jobView),
    async submit(body) {
      const job = parseJob(body, [...parts.taskTypes].sort()[0]);
      parts.check?.(job);
      const { jobId, done } = orchestrator.accept(job);
      done.catch(() => {}); // its outcome is read from the job list; nobody awaits it here
      return { jobId: String(jobId) };
    },
    async cancel(jobId) {
      const id = numericId(jobId);
      if (await orchestrator.cancel(id)) return 'cancelled';
      const job = orchestrator.jobs().find((j) => j.id === id);
      return job?.state === 'running' ? undefined : (job?.state as 'done' | 'failed' | 'cancelled' | undefined);
    },
    swarmlets: () => swarmletViews(orchestrator),
    nodes: () => [],
    decisions(after, limit) {
      const { actionLog, actionsLogged } = sources();
      const firstSeq = actionsLogged - actionLog.length;
      const from = Math.max(0, after + 1 - firstSeq);
      return actionLog.slice(from, from + limit).map((record, i) => decisionView(firstSeq + from + i, record));
    },
    // The usage tracker counts from the swarm's start (as the summary does); the API gives every time on its clock.
    anomalies: () => {
      const { startedAtMs } = orchestrator.about();
      return sources().usage.anomalies.map((a) => ({ ...a, atMs: startedAtMs + a.atMs }));
    },
    forecasts: () => forecasts(orchestrator),
    logs: (target) => orchestrator.taskLogs(target).lines.map((line) => ({ ...line })),
    metrics: () => metrics(orchestrator),
  };
}

/** The id as GET /api/jobs spells it: Number() alone read 0x1, 1e0 or 01 as job 1 (GET /api/jobs/0x1 is no job). */
function numericId(jobId: string): number {
  const id = Number(jobId);
  if (!/^[1-9]\d*$/.test(jobId) || !Number.isSafeInteger(id))
    throw new InputError('id', `"${jobId}" is not a job id of this swarm`, 'use an id from GET /api/jobs', {
      value: '1',
    });
  return id;
}

function jobView(job: ReturnType<Orchestrator['jobs']>[number]): JobView {
  return withoutUndefined({ ...job, id: String(job.id), byType: [...job.byType] }) as JobView;
}

/** JSON drops undefined anyway; the response schemas say optional, not undefined. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function decisionView(seq: number, { atMs, action }: { atMs: number; action: Action }): DecisionView {
  return withoutUndefined({
    seq,
    atMs,
    kind: action.kind,
    taskType: 'taskType' in action ? action.taskType : 'toTaskType' in action ? action.toTaskType : undefined,
    swarmletId: 'swarmletId' in action ? action.swarmletId : undefined,
    reason: action.reason,
  });
}

function swarmletViews(orchestrator: Orchestrator): SwarmletView[] {
  const { swarmlets, actionLog } = orchestrator.sources();
  const morphs = new Map<string, { atMs: number; kind: string; reason: string }[]>();
  for (const { atMs, action } of actionLog) {
    if (!('swarmletId' in action) || action.swarmletId === undefined) continue;
    let list = morphs.get(action.swarmletId);
    if (!list) morphs.set(action.swarmletId, (list = []));
    list.push({ atMs, kind: action.kind, reason: action.reason });
  }
  return swarmlets.map((s) =>
    withoutUndefined({
      id: s.id,
      state: s.state,
      taskType: s.taskType,
      warmTypes: [...s.warmTypes],
      startedAtMs: s.startedAtMs,
      cpuPercent: s.lastSample?.cpuPercent,
      rssMb: s.lastSample?.rssMb ?? s.rssMb,
      eventLoopP99Ms: s.lastSample?.eventLoopDelayMsP99,
      tasksDone: s.lastSample?.tasksDone,
      inFlight: s.inFlight.size,
      served: [...s.served],
      morphs: morphs.get(s.id) ?? [],
    }),
  );
}

function status(parts: EmbeddedParts): StatusView {
  // Not the summary: it is built for the end of a run (per swarmlet × action); this runs every second.
  const { policy, uptimeMs } = parts.orchestrator.about();
  const sources = parts.orchestrator.sources();
  const microTasksDone = [...sources.counts.values()].reduce((sum, c) => sum + c.done, 0);
  const jobs = parts.orchestrator.jobs();
  const count = (state: string) => jobs.filter((j) => j.state === state).length;
  return {
    mode: 'embedded',
    policy,
    uptimeMs,
    nowMs: parts.clock.nowMs(),
    jobs: { running: count('running'), done: count('done'), failed: count('failed') + count('cancelled') },
    microTasksDone,
    throughputPerSec: uptimeMs > 0 ? (microTasksDone * 1000) / uptimeMs : 0,
    swarmlets: liveSwarmlets(sources.swarmlets),
  };
}

/** Swarmlets not stopped, counted per type and state (the stopped ones are a bounded history, not a count). */
function liveSwarmlets(
  swarmlets: readonly { taskType: string; state: string }[],
): { taskType: string; state: string; count: number }[] {
  const byKey = new Map<string, { taskType: string; state: string; count: number }>();
  for (const s of swarmlets) {
    if (s.state === 'stopped') continue;
    const key = `${s.taskType}\0${s.state}`;
    const entry = byKey.get(key) ?? { taskType: s.taskType, state: s.state, count: 0 };
    entry.count += 1;
    byKey.set(key, entry);
  }
  return [...byKey.values()];
}

function forecasts(orchestrator: Orchestrator) {
  const { usage, stats } = orchestrator.sources();
  const { startedAtMs } = orchestrator.about();
  return [...stats.keys()].map((taskType) => {
    const view = usage.view(taskType);
    const trail = usage.trail.get(taskType) ?? [];
    return withoutUndefined({
      taskType,
      predictedDurationMs: view.predictedDurationMs,
      meanDurationMs: meanOf(trail.map((p) => p.actualMs)),
      durationErrorPercent: view.durationErrorPercent,
      predictedCpu: view.cpu.predicted,
      actualCpu: view.cpu.actualMean,
      predictedMemoryMb: view.memoryMb.predicted,
      actualMemoryMb: view.memoryMb.actualMean,
      trail: trail.slice(-200).map((p) => withoutUndefined({ ...p, atMs: startedAtMs + p.atMs })),
    });
  });
}

function meanOf(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

function metrics(orchestrator: Orchestrator): MetricsView {
  const sources = orchestrator.sources();
  const types = [...sources.stats.values()];
  const jobs = orchestrator.jobs();
  const jobStates = new Map<string, number>();
  for (const job of jobs) jobStates.set(job.state, (jobStates.get(job.state) ?? 0) + 1);
  return {
    microTasks: types.flatMap((t) => [
      { taskType: t.taskType, outcome: 'done' as const, count: sources.counts.get(t.taskType)?.done ?? 0 },
      { taskType: t.taskType, outcome: 'failed' as const, count: t.failed },
      { taskType: t.taskType, outcome: 'retried' as const, count: t.report.retries },
    ]),
    durations: types.map((t) => ({
      taskType: t.taskType,
      bucketsMs: DURATION_BUCKETS_MS,
      counts: t.durationBuckets,
      sumMs: t.report.durationMsTotal,
    })),
    swarmlets: liveSwarmlets(sources.swarmlets),
    morphActions: [...sources.actionCounts].map(([kind, count]) => ({ kind, count })),
    queueDepth: types.map((t) => ({ taskType: t.taskType, depth: sources.queued.get(t.taskType) ?? 0 })),
    coldStarts: types.reduce((sum, t) => sum + t.report.coldStarts, 0),
    predictionError: types.flatMap((t) => {
      const percent = sources.usage.view(t.taskType).durationErrorPercent;
      return percent === undefined ? [] : [{ taskType: t.taskType, ratio: percent / 100 }];
    }),
    nodes: [],
    jobs: [...jobStates].map(([state, count]) => ({ state, count })),
  };
}
