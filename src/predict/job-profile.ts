/**
 * What a job needs, learned from its earlier runs: for each task type, how long after the job's
 * start its first micro-task became ready, and how many swarmlets it used at peak. Each run
 * updates the profile (EWMA for offsets, so a changed job shifts the profile within a few runs).
 */
export interface TypeProfile {
  readonly taskType: string;
  readonly firstDemandOffsetMs: number;
  readonly peakSwarmlets: number;
}

export interface JobProfile {
  readonly runs: number;
  readonly types: readonly TypeProfile[];
}

const OFFSET_ALPHA = 0.5;

export function updateJobProfile(previous: JobProfile | undefined, observed: readonly TypeProfile[]): JobProfile {
  if (!previous) return { runs: 1, types: [...observed] };
  const before = new Map(previous.types.map((type) => [type.taskType, type]));
  const types = observed.map((type) => {
    const old = before.get(type.taskType);
    if (!old) return type;
    return {
      taskType: type.taskType,
      firstDemandOffsetMs:
        old.firstDemandOffsetMs + OFFSET_ALPHA * (type.firstDemandOffsetMs - old.firstDemandOffsetMs),
      peakSwarmlets: Math.max(type.peakSwarmlets, Math.round((old.peakSwarmlets + type.peakSwarmlets) / 2)),
    };
  });
  return { runs: previous.runs + 1, types };
}
