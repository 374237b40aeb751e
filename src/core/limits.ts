/** A limit on everything (DESIGN.md rules of the house). Defaults; most are options on `Swarm`. */
export const LIMITS = {
  /** How deep `split` may recurse before the job fails. */
  maxSplitDepth: 32,
  /** Children one `split` call may return. */
  maxChildrenPerSplit: 100_000,
  /** Micro-tasks one job may create in all (including splits and joins). */
  maxMicroTasksPerJob: 5_000_000,
  /** Serialized size of one micro-task input. */
  maxPayloadBytes: 16 * 1024 * 1024,
  /** Attempts per micro-task (1 = no retry). */
  maxAttempts: 3,
} as const;

export const PRIORITIES = { low: 0, normal: 1, high: 2 } as const;
export type PriorityName = keyof typeof PRIORITIES;
