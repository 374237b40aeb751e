import type { Clock } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import type { JobInput } from '../core/job.js';
import type { ClusterDirector } from '../runtime/cluster/director.js';
import type { SubmitOptions } from '../runtime/cluster/director-jobs.js';
import { DURATION_BUCKETS_MS } from '../runtime/type-stats.js';
import { clean, clusterNodes, clusterSwarmletStates, clusterSwarmlets } from './cluster-views.js';
import type { MetricsView, Operations } from './operations.js';
import { Unavailable } from './request-errors.js';
import type { DecisionView, ForecastView, JobView, StatusView } from './schemas.js';

export interface ClusterParts {
  /** The director acting in this process now; undefined before it holds the lease. */
  readonly director: () => ClusterDirector | undefined;
  readonly clock: Clock;
  /** Loads a job file on this machine (the CLI's loader): its task modules and its job. */
  readonly loadJobFile?: (path: string) => Promise<{ taskPaths: string[]; job: JobInput }>;
  /** How bundles from a job file are compiled and signed. */
  readonly submit?: Pick<SubmitOptions, 'cacheDir' | 'signKey'>;
}

const NOT_LEADING_FIX =
  'retry in a moment, or ask the process that holds the director lease (its `swarmlet serve` log says "director up")';

/**
 * The cluster director seen through the API. Reads are views of what this process's director knows (a director that
 * stepped down answers with what it knew last); changes go to the director that holds the lease, else 503.
 */
export function clusterOperations(parts: ClusterParts): Operations {
  const known = (): ClusterDirector => {
    const director = parts.director();
    if (!director)
      throw new Unavailable('director', 'this process does not hold the director lease yet', NOT_LEADING_FIX);
    return director;
  };
  const leading = (): ClusterDirector => {
    const director = known();
    if (!director.leading)
      throw new Unavailable(
        'director',
        'this process stepped down as the director (another may hold the lease)',
        NOT_LEADING_FIX,
      );
    return director;
  };
  return {
    mode: 'cluster',
    status: () => status(known(), parts.clock.nowMs()),
    jobs: () => jobs(known(), parts.clock.nowMs()),
    submit: async (body) => ({ jobId: await submit(leading(), body, parts) }),
    cancel: (jobId) => leading().cancel(jobId, `POST /api/jobs/${jobId}/cancel`),
    swarmlets: () => clusterSwarmlets(known()),
    nodes: () => clusterNodes(known(), parts.clock.nowMs()),
    decisions: (after, limit) =>
      known()
        .records.morphsAfter(after, limit)
        .map(({ seq, atMs, action, outcome }): DecisionView =>
          clean({
            seq,
            atMs,
            kind: action.kind,
            taskType: 'taskType' in action ? action.taskType : 'toTaskType' in action ? action.toTaskType : undefined,
            swarmletId: 'swarmletId' in action ? action.swarmletId : undefined,
            reason: `${action.reason} → ${outcome}`,
          }),
        ),
    anomalies: () => known().jobBook.usage.anomalies.map((a) => ({ ...a })),
    forecasts: () => forecasts(known()),
    // Agents ship what tasks print to Redis (task-log-shipper.ts); a director that stepped down no longer reads it.
    logs: (target) => leading().taskLogs(target),
    metrics: () => metrics(known(), parts.clock.nowMs()),
  };
}

function jobs(director: ClusterDirector, nowMs: number): JobView[] {
  return director.jobBook.views(nowMs).map((view) => ({ ...view, byType: [...view.byType] }));
}

/** `{ jobFile }` (a job file on this machine: its bundles registered, signed with serve's key), or known types. */
async function submit(director: ClusterDirector, body: unknown, parts: ClusterParts): Promise<string> {
  if (typeof body === 'object' && body !== null && 'jobFile' in body) {
    const { jobFile, ...rest } = body as { jobFile: unknown };
    if (typeof jobFile !== 'string' || jobFile === '' || Object.keys(rest).length > 0)
      throw new InputError(
        'jobFile',
        'is not a path to a job file alone',
        'send { "jobFile": "/path/on/the/director/job.ts" } and nothing else',
      );
    if (!parts.loadJobFile)
      throw new InputError('jobFile', 'job files are not loaded by this server', 'send { type, input } or { tasks }');
    const { taskPaths, job } = await parts.loadJobFile(jobFile);
    return director.submit(job, { ...parts.submit, taskPaths });
  }
  return director.submit(body);
}

function status(director: ClusterDirector, nowMs: number): StatusView {
  const views = director.jobBook.views(nowMs);
  const count = (state: string) => views.filter((j) => j.state === state).length;
  const uptimeMs = Math.max(0, nowMs - director.startedAtMs);
  const microTasksDone = doneCount(director);
  return {
    mode: 'cluster',
    policy: director.policyName,
    uptimeMs,
    nowMs,
    jobs: { running: count('running'), done: count('done'), failed: count('failed') + count('cancelled') },
    microTasksDone,
    throughputPerSec: uptimeMs > 0 ? (microTasksDone * 1000) / uptimeMs : 0,
    swarmlets: swarmletGroups(director),
  };
}

/** Swarmlets per task type and state. */
function swarmletGroups(director: ClusterDirector): { taskType: string; state: string; count: number }[] {
  const groups = new Map<string, { taskType: string; state: string; count: number }>();
  for (const s of clusterSwarmletStates(director)) {
    const key = `${s.taskType}\0${s.state}`;
    const group = groups.get(key) ?? { taskType: s.taskType, state: s.state, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  return [...groups.values()];
}

function doneCount(director: ClusterDirector): number {
  let done = 0;
  for (const counts of director.jobBook.tracker.counts.values()) done += counts.done;
  return done;
}

/** Predicted against measured duration per type (the director learns durations only: no CPU, memory or trail). */
function forecasts(director: ClusterDirector): ForecastView[] {
  const { usage, stats } = director.jobBook;
  return [...stats.values()].map((typeStats) => {
    const view = usage.view(typeStats.taskType);
    const completed = typeStats.durationBuckets.reduce((a, b) => a + b, 0);
    return clean({
      taskType: typeStats.taskType,
      predictedDurationMs: view.predictedDurationMs,
      meanDurationMs: completed > 0 ? typeStats.report.durationMsTotal / completed : undefined,
      durationErrorPercent: view.durationErrorPercent,
      trail: [],
    });
  });
}

function metrics(director: ClusterDirector, nowMs: number): MetricsView {
  const { stats, tracker, usage } = director.jobBook;
  const types = [...stats.values()];
  const jobStates = new Map<string, number>();
  for (const job of director.jobBook.views(nowMs)) jobStates.set(job.state, (jobStates.get(job.state) ?? 0) + 1);
  return {
    microTasks: types.map((t) => ({
      taskType: t.taskType,
      outcome: 'done' as const,
      count: tracker.counts.get(t.taskType)?.done ?? 0,
    })),
    durations: types.map((t) => ({
      taskType: t.taskType,
      bucketsMs: DURATION_BUCKETS_MS,
      counts: t.durationBuckets,
      sumMs: t.report.durationMsTotal,
    })),
    morphActions: [...director.records.morphCounts].map(([kind, count]) => ({ kind, count })),
    queueDepth: [...director.lastDepths].map(([taskType, depth]) => ({ taskType, depth })),
    coldStarts: 0, // agents start swarmlets; they do not report cold starts to the director
    predictionError: types.flatMap((t) => {
      const percent = usage.view(t.taskType).durationErrorPercent;
      return percent === undefined ? [] : [{ taskType: t.taskType, ratio: percent / 100 }];
    }),
    nodes: [...director.clusterPool.nodeStates()].map(([node, state]) => ({ node, state })),
    jobs: [...jobStates].map(([state, count]) => ({ state, count })),
    swarmlets: swarmletGroups(director),
  };
}
