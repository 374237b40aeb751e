/** Hand-built snapshots for policy tests: every field has a boring default, tests override what matters. */
import type { Decision } from '../../src/core/actions.js';
import type { PoolLimits, Snapshot, SwarmletView, TaskTypeLoad } from '../../src/decide/snapshot.js';

export const DEFAULT_LIMITS: PoolLimits = { maxSwarmlets: 8, maxMemoryMb: 8192, swarmletMemoryMb: 100 };

/** An idle swarmlet started (and last busy, last morphed) at t=0 unless overridden. */
export function swarmlet(id: string, taskType: string, overrides: Partial<SwarmletView> = {}): SwarmletView {
  return {
    id,
    taskType,
    state: 'idle',
    startedAtMs: 0,
    lastBusyAtMs: 0,
    lastMorphAtMs: 0,
    inFlight: 0,
    utilization: 0,
    rssMb: undefined,
    pendingTaskType: undefined,
    warmTypes: [taskType],
    shadow: false,
    ...overrides,
  };
}

/** A busy swarmlet holding one micro-task, fully utilised. */
export function busy(id: string, taskType: string, overrides: Partial<SwarmletView> = {}): SwarmletView {
  return swarmlet(id, taskType, { state: 'busy', inFlight: 1, utilization: 1, ...overrides });
}

/** Load of one task type; nothing queued and no measurements unless overridden. */
export function load(taskType: string, overrides: Partial<TaskTypeLoad> = {}): TaskTypeLoad {
  return {
    taskType,
    ready: 0,
    inFlight: 0,
    blocked: 0,
    completedInWindow: 0,
    meanDurationMsInWindow: undefined,
    hintDurationMs: undefined,
    ...overrides,
  };
}

export interface SnapshotSpec {
  readonly nowMs?: number;
  readonly windowMs?: number;
  readonly limits?: Partial<PoolLimits>;
  readonly swarmlets?: readonly SwarmletView[];
  readonly load?: readonly TaskTypeLoad[];
  readonly jobProfiles?: Snapshot['jobProfiles'];
}

export function snapshot(spec: SnapshotSpec = {}): Snapshot {
  return {
    nowMs: spec.nowMs ?? 10_000,
    windowMs: spec.windowMs ?? 100,
    limits: { ...DEFAULT_LIMITS, ...spec.limits },
    swarmlets: spec.swarmlets ?? [],
    load: spec.load ?? [],
    jobProfiles: spec.jobProfiles ?? [],
  };
}

/** `count` busy swarmlets of a type with ids `${prefix}-0…`. */
export function busyGroup(
  prefix: string,
  taskType: string,
  count: number,
  overrides: Partial<SwarmletView> = {},
): SwarmletView[] {
  return Array.from({ length: count }, (_, i) => busy(`${prefix}-${i}`, taskType, overrides));
}

/** Recursively freezes a value so a test catches a policy that mutates its input. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Applies a decision to a pool the way a perfect provider would: replicas appear busy (so the
 * next tick sees them serving), specializations switch type, stops remove the swarmlet.
 */
export function applyDecision(
  swarmlets: readonly SwarmletView[],
  decision: Decision,
  nowMs: number,
  nextId: () => string,
): SwarmletView[] {
  let pool = [...swarmlets];
  for (const action of decision.actions) {
    switch (action.kind) {
      case 'replicate':
      case 'prewarm':
        pool.push(busy(nextId(), action.taskType, { startedAtMs: nowMs, lastBusyAtMs: nowMs, lastMorphAtMs: nowMs }));
        break;
      case 'specialize':
        pool = pool.map((s) =>
          s.id === action.swarmletId ? { ...s, taskType: action.toTaskType, lastMorphAtMs: nowMs } : s,
        );
        break;
      case 'consolidate':
      case 'deprovision':
      case 'reclaim':
        pool = pool.filter((s) => s.id !== action.swarmletId);
        break;
    }
  }
  return pool;
}

export function kinds(decision: Decision): string[] {
  return decision.actions.map((action) => action.kind);
}
