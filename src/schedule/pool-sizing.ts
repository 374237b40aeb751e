/**
 * Pool sizing that follows predicted load: how many swarmlets the reservation pool needs, and which
 * ones to drop when it should shrink. Pure helpers; the decide step turns the plan into actions.
 *
 * Load is concurrency (Little's law): a demand of `count` micro-tasks of `durationMs` each over a
 * horizon keeps `count × durationMs / horizonMs` of them running at once on average, each holding its
 * resources. The pool is sized for that load plus `headroom` (default 20 %), bound by whichever of CPU
 * and memory needs more swarmlets, and clamped to [minSwarmlets, maxSwarmlets].
 */
import { InputError } from '../core/errors.js';
import type { Resources } from '../core/resources.js';
import type { SwarmletView } from './reservation-ledger.js';

export interface PredictedDemand {
  readonly resources: Resources;
  readonly durationMs: number;
  /** Micro-tasks predicted to start within the horizon. */
  readonly count: number;
}

/** Average resources held at once over `horizonMs` by the predicted demand. */
export function predictedLoad(demands: readonly PredictedDemand[], horizonMs: number): Resources {
  if (!(Number.isFinite(horizonMs) && horizonMs > 0))
    throw new InputError('horizonMs', `is ${horizonMs}`, 'use a positive number of milliseconds');
  let cpu = 0;
  let memoryMb = 0;
  for (const { resources, durationMs, count } of demands) {
    // A task longer than the horizon holds its resources for the whole horizon, not longer.
    const share = (count * Math.min(durationMs, horizonMs)) / horizonMs;
    cpu += resources.cpu * share;
    memoryMb += resources.memoryMb * share;
  }
  return { cpu, memoryMb };
}

export interface PoolSizeOptions {
  /** Extra fraction on top of the predicted load (0.2 = 20 %). */
  readonly headroom: number;
  readonly minSwarmlets: number;
  readonly maxSwarmlets: number;
}

export const DEFAULT_POOL_SIZE_OPTIONS: PoolSizeOptions = { headroom: 0.2, minSwarmlets: 0, maxSwarmlets: 1_000 };

export interface PoolSize {
  readonly count: number;
  /** What set the count: the resource that needs the most swarmlets, or a clamp. */
  readonly boundBy: 'cpu' | 'memory' | 'min' | 'max';
  readonly reason: string;
}

export function desiredSwarmlets(
  load: Resources,
  perSwarmlet: Resources,
  options: Partial<PoolSizeOptions> = {},
): PoolSize {
  const { headroom, minSwarmlets, maxSwarmlets } = { ...DEFAULT_POOL_SIZE_OPTIONS, ...options };
  if (!(perSwarmlet.cpu > 0 && perSwarmlet.memoryMb > 0))
    throw new InputError(
      'perSwarmlet',
      `is ${perSwarmlet.cpu} cpu, ${perSwarmlet.memoryMb} MB`,
      'give each swarmlet a positive cpu and memoryMb',
    );
  if (!(headroom >= 0)) throw new InputError('headroom', `is ${headroom}`, 'use a fraction ≥ 0, e.g. 0.2');
  if (!(
    Number.isInteger(minSwarmlets) &&
    minSwarmlets >= 0 &&
    Number.isInteger(maxSwarmlets) &&
    maxSwarmlets >= minSwarmlets
  )) {
    throw new InputError(
      'minSwarmlets/maxSwarmlets',
      `are ${minSwarmlets}/${maxSwarmlets}`,
      'use integers with 0 ≤ minSwarmlets ≤ maxSwarmlets',
    );
  }
  // Round away float noise before ceil: 0.6 / 0.2 is 2.9999999999999996 and means 3.
  const needed = (amount: number, per: number): number =>
    Math.ceil(Number(((Math.max(0, amount) * (1 + headroom)) / per).toFixed(9)));
  const byCpu = needed(load.cpu, perSwarmlet.cpu);
  const byMemory = needed(load.memoryMb, perSwarmlet.memoryMb);
  const raw = Math.max(byCpu, byMemory);
  const what = `load ${Number(load.cpu.toFixed(3))} cpu + ${Number(load.memoryMb.toFixed(1))} MB with ${Math.round(headroom * 100)}% headroom needs ${byCpu} by cpu, ${byMemory} by memory`;
  if (raw < minSwarmlets)
    return { count: minSwarmlets, boundBy: 'min', reason: `${what}; kept at minSwarmlets ${minSwarmlets}` };
  if (raw > maxSwarmlets)
    return { count: maxSwarmlets, boundBy: 'max', reason: `${what}; capped at maxSwarmlets ${maxSwarmlets}` };
  return { count: raw, boundBy: byMemory >= byCpu ? 'memory' : 'cpu', reason: `${what} → ${raw}` };
}

export interface ResizePlan {
  /** Swarmlets to start. */
  readonly add: number;
  /** Swarmlets to take out of the pool: only ones without claims, emptiest capacity first. */
  readonly remove: readonly string[];
  readonly reason: string;
}

/**
 * Move the pool toward `desiredCount`. Shrinking only picks swarmlets without claims (so nothing is
 * requeued), smallest capacity first then by id; if too few are idle it says how many it could not drop.
 */
export function planResize(swarmlets: readonly SwarmletView[], desiredCount: number): ResizePlan {
  const current = swarmlets.length;
  if (desiredCount >= current) {
    const add = desiredCount - current;
    return {
      add,
      remove: [],
      reason:
        add === 0
          ? `pool is at its desired ${current} swarmlets`
          : `pool has ${current}, wants ${desiredCount}: start ${add}`,
    };
  }
  const surplus = current - desiredCount;
  const idle = swarmlets
    .filter((view) => view.claimCount === 0)
    .sort(
      (a, b) =>
        a.capacity.memoryMb - b.capacity.memoryMb ||
        a.capacity.cpu - b.capacity.cpu ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  const remove = idle.slice(0, surplus).map((view) => view.id);
  const short = surplus - remove.length;
  const reason =
    `pool has ${current}, wants ${desiredCount}: remove ${remove.length} idle` +
    (short > 0 ? `; ${short} more hold claims and stay until they end` : '');
  return { add: 0, remove, reason };
}
