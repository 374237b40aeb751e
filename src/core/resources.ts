/** A resource vector: what a micro-task or swarmlet needs or holds. Units are in the names. */
export interface Resources {
  /** Cores (1 = one full core). */
  readonly cpu: number;
  readonly memoryMb: number;
}

export const ZERO_RESOURCES: Resources = { cpu: 0, memoryMb: 0 };

export function addResources(a: Resources, b: Resources): Resources {
  return { cpu: a.cpu + b.cpu, memoryMb: a.memoryMb + b.memoryMb };
}

export function fitsWithin(need: Resources, free: Resources): boolean {
  return need.cpu <= free.cpu && need.memoryMb <= free.memoryMb;
}
