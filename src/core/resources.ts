/** A resource vector: what a micro-task or swarmlet needs or holds. Units are in the names. */
export interface Resources {
  /** Cores (1 = one full core). */
  readonly cpu: number;
  readonly memoryMb: number;
}
