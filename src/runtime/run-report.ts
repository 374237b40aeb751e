import type { ReservationReport } from './node-reservations.js';
import type { Action, ActionKind } from '../core/actions.js';
import type { MonitorSample } from './local/ipc.js';
import type { AnomalyRecord, UsageView } from './usage-tracker.js';
import type { JobOutcome } from './job-outcomes.js';

/** Per task type, what the run did. */
export interface TaskTypeReport {
  readonly taskType: string;
  total: number;
  done: number;
  retries: number;
  /** Swarmlets that had to load this type (process start or specialization) before serving it. */
  coldStarts: number;
  coldStartMsTotal: number;
  /** Loads done ahead of demand (shadow swarmlets, preloads): no micro-task waited for them. */
  prewarms: number;
  peakSwarmlets: number;
  durationMsTotal: number;
}

export interface ActionRecord {
  readonly atMs: number;
  readonly action: Action;
}

export interface FaultRecord {
  readonly atMs: number;
  readonly swarmletId: string;
  readonly detail: string;
  /** Micro-tasks it held that went back to the queue. */
  readonly requeued: number;
  /** The one of them charged an attempt for the exit (the one running), if any; the others went back free. */
  readonly charged?: string;
}

/** The hard limits in force, and how the memory limit is held. */
export interface LimitsReport {
  readonly taskTimeoutMs: number | undefined;
  readonly swarmletMemoryLimitMb: number | undefined;
  /** By the kernel (a cgroup per swarmlet), or measured from outside (/proc) and stopped. */
  readonly memoryEnforcement: string;
  /** What holds task code in (runtime/local/sandbox.ts): bwrap, process or none. */
  readonly sandbox: string;
  readonly onRunaway: string;
}

/** One swarmlet at the end of the run, with its monitor's last sample (undefined before the first). */
export interface SwarmletReport {
  readonly id: string;
  readonly taskType: string;
  readonly state: string;
  readonly morphs: number;
  readonly monitor: MonitorSample | undefined;
}

/** The summary a run ends with (`--json` prints it as is). */
export interface RunSummary {
  readonly policy: string;
  readonly wallMs: number;
  readonly microTasks: number;
  readonly throughputPerSec: number;
  readonly coldStarts: number;
  /** Per type, with the usage model's duration prediction and its error (the feedback loop). */
  readonly taskTypes: readonly (TaskTypeReport & {
    meanDurationMs: number;
    meanColdStartMs: number;
    usage: UsageView;
  })[];
  /** Every morphing action, grouped by kind, then by reason (with how often and when first). */
  readonly actions: Readonly<
    Partial<Record<ActionKind, readonly { reason: string; count: number; firstAtMs: number; subjects: string[] }[]>>
  >;
  readonly faults: readonly FaultRecord[];
  /** Micro-tasks far above their predicted duration (robust statistics; the last 100). */
  readonly anomalies: readonly AnomalyRecord[];
  /** Finished jobs with their wall time against their deadline (the last thousand). */
  readonly jobs: readonly JobOutcome[];
  /** The reservation pool: busy swarmlets' predicted memory against the budget, and the work it held back. */
  readonly reservations: ReservationReport;
  readonly swarmlets: readonly SwarmletReport[];
  readonly limits: LimitsReport;
}

const SUBJECTS_SHOWN = 8;

export function groupActions(records: readonly ActionRecord[], startMs: number): RunSummary['actions'] {
  const grouped: Partial<
    Record<ActionKind, { reason: string; count: number; firstAtMs: number; subjects: string[] }[]>
  > = {};
  for (const { atMs, action } of records) {
    const list = (grouped[action.kind] ??= []);
    const reason = `${subjectType(action)}${action.reason}`;
    let entry = list.find((item) => item.reason === reason);
    if (!entry) {
      entry = { reason, count: 0, firstAtMs: atMs - startMs, subjects: [] };
      list.push(entry);
    }
    entry.count += 1;
    const subject =
      ('swarmletId' in action ? action.swarmletId : undefined) ?? ('taskType' in action ? action.taskType : '');
    if (entry.subjects.length < SUBJECTS_SHOWN && !entry.subjects.includes(subject)) entry.subjects.push(subject);
  }
  return grouped;
}

function subjectType(action: Action): string {
  switch (action.kind) {
    case 'replicate':
    case 'prewarm':
      return `${action.taskType}: `;
    case 'specialize':
      return `${action.fromTaskType} → ${action.toTaskType}: `;
    case 'consolidate':
      return `${action.taskType}: `;
    default:
      return '';
  }
}
