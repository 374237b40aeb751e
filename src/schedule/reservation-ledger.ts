/**
 * The reservation ledger: micro-tasks claim CPU/memory on a swarmlet for their predicted duration before
 * they run (DESIGN.md "Reservation"). Pure and deterministic: time comes in as `nowMs`, nothing is read
 * from the world, and every refusal is a value with a reason naming the resource and the amounts.
 *
 * Rules (the defaults are `DEFAULT_LEDGER_OPTIONS`):
 * - Memory is never overcommitted: on every swarmlet, the claims' memory sums to at most its capacity.
 * - CPU may be overcommitted by `cpuOvercommit` (default 1 = not at all): CPU is compressible, so an
 *   operator may let claims add up to `capacity.cpu × cpuOvercommit`; a slow task is better than a killed one.
 * - Placement is best fit: among swarmlets with room, the one left with the least free memory (memory is
 *   the scarce, incompressible resource), then least free CPU, then the smallest id, so big holes stay
 *   open for big tasks. `placeOn` pins the claim to one swarmlet and never falls back to another.
 * - Expiry is `nowMs + max(minHoldMs, ceil(predictedDurationMs × expirySlack))` (default slack 2×,
 *   floor 1 s, so a "no data yet" prediction of 0 ms does not expire at once). A claim is expired once
 *   `nowMs >= expiresAtMs`; `expire` hands it back and the caller decides: extend, kill or log.
 * - Every claim ends exactly once: `release` (completion), `expire`, or `remove` of its swarmlet (requeue).
 *
 * Amounts are kept as integers inside (millicores, thousandths of a MB) so sums never drift; a need is rounded
 * up to the next unit and a capacity down, so rounding can never overcommit memory.
 */
import { InputError } from '../core/errors.js';
import type { Resources } from '../core/resources.js';

export interface LedgerOptions {
  /** Expiry = predicted duration × this (≥ 1). */
  readonly expirySlack: number;
  /** Shortest hold, whatever the prediction says (ms, ≥ 0). */
  readonly minHoldMs: number;
  /** CPU claims may add up to capacity × this (≥ 1). Memory is never overcommitted. */
  readonly cpuOvercommit: number;
  /** Limits on everything: registered swarmlets and live claims. */
  readonly maxSwarmlets: number;
  readonly maxClaims: number;
}

export const DEFAULT_LEDGER_OPTIONS: LedgerOptions = {
  expirySlack: 2,
  minHoldMs: 1_000,
  cpuOvercommit: 1,
  maxSwarmlets: 10_000,
  maxClaims: 1_000_000,
};

export interface SwarmletCapacity extends Resources {
  readonly id: string;
}

export interface ClaimRequest {
  readonly taskId: string;
  readonly resources: Resources;
  readonly predictedDurationMs: number;
  readonly nowMs: number;
  /** Pin to this swarmlet: refused (never moved elsewhere) if it cannot take the claim. */
  readonly placeOn?: string;
}

export interface Claim {
  readonly taskId: string;
  readonly swarmletId: string;
  readonly resources: Resources;
  readonly predictedDurationMs: number;
  readonly claimedAtMs: number;
  readonly expiresAtMs: number;
}

/**
 * Why a claim was refused. Admission control branches on it:
 * `insufficient-free` → queue (it fits once claims end); `exceeds-capacity` → reject or grow the pool
 * (no current swarmlet could ever hold it); the rest are caller errors or limits.
 */
export type ClaimRefusalCode =
  'invalid' | 'duplicate' | 'unknown-swarmlet' | 'exceeds-capacity' | 'insufficient-free' | 'limit';

export type ClaimResult =
  | { readonly ok: true; readonly swarmletId: string; readonly expiresAtMs: number }
  | { readonly ok: false; readonly code: ClaimRefusalCode; readonly reason: string };

export type LedgerResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface SwarmletView {
  readonly id: string;
  readonly capacity: Resources;
  readonly reserved: Resources;
  /** What a new claim may still take (CPU includes the overcommit allowance; may not go below 0). */
  readonly free: Resources;
  readonly claimCount: number;
}

/** Reserved ÷ capacity over the pool (0 when there is no capacity). CPU may exceed 1 with overcommit. */
export interface Utilisation {
  readonly cpu: number;
  readonly memory: number;
}

interface Slot {
  readonly id: string;
  readonly cpuMilli: number;
  readonly memoryMilliMb: number;
  /** Capacity a claim may use: CPU with the overcommit allowance. */
  readonly claimableCpuMilli: number;
  reservedCpuMilli: number;
  reservedMemoryMilliMb: number;
  readonly taskIds: Set<string>;
}

interface LiveClaim {
  readonly claim: Claim;
  readonly cpuMilli: number;
  readonly memoryMilliMb: number;
  readonly seq: number;
}

interface ExpiryEntry {
  readonly expiresAtMs: number;
  readonly seq: number;
  readonly taskId: string;
}

const toMilli = (cpu: number): number => Math.round(cpu * 1000);
// Thousandths of a megabyte: decimal, so 0.1 MB + 0.2 MB is exactly 0.3 MB (kilobytes would round 0.1 MB up).
const needMilliMb = (memoryMb: number): number => Math.ceil(memoryMb * 1000 - 1e-6);
const capacityMilliMb = (memoryMb: number): number => Math.floor(memoryMb * 1000 + 1e-6);
const fromMilli = (milli: number): number => milli / 1000;
const fromMilliMb = (milliMb: number): number => milliMb / 1000;
const formatMb = (memoryMb: number): string => `${Number(memoryMb.toFixed(1))} MB`;
const formatCpu = (cpu: number): string => `${Number(cpu.toFixed(3))} cpu`;
const isAmount = (value: number): boolean => Number.isFinite(value) && value >= 0;

export class ReservationLedger {
  readonly options: LedgerOptions;
  private readonly slots = new Map<string, Slot>();
  private readonly live = new Map<string, LiveClaim>();
  /** Min-heap on (expiresAtMs, seq) with lazy deletion: released or extended claims leave stale entries. */
  private heap: ExpiryEntry[] = [];
  private nextSeq = 0;

  constructor(options: Partial<LedgerOptions> = {}) {
    this.options = validateOptions({ ...DEFAULT_LEDGER_OPTIONS, ...options });
  }

  /** Add a swarmlet's (or node's) capacity to the pool. */
  register(capacity: SwarmletCapacity): LedgerResult {
    const { id, cpu, memoryMb } = capacity;
    if (id === '') return { ok: false, reason: 'swarmlet id is empty' };
    if (!isAmount(cpu) || !isAmount(memoryMb))
      return { ok: false, reason: `swarmlet ${id}: capacity must be finite and ≥ 0 (got ${cpu} cpu, ${memoryMb} MB)` };
    if (this.slots.has(id)) return { ok: false, reason: `swarmlet ${id} is already registered` };
    if (this.slots.size >= this.options.maxSwarmlets)
      return {
        ok: false,
        reason: `swarmlet ${id}: the ledger already holds ${this.slots.size} swarmlets (maxSwarmlets)`,
      };
    const cpuMilli = toMilli(cpu);
    this.slots.set(id, {
      id,
      cpuMilli,
      memoryMilliMb: capacityMilliMb(memoryMb),
      claimableCpuMilli: Math.floor(cpuMilli * this.options.cpuOvercommit),
      reservedCpuMilli: 0,
      reservedMemoryMilliMb: 0,
      taskIds: new Set(),
    });
    return { ok: true };
  }

  /**
   * Take a swarmlet out of the pool. Returns its live claims (ended here, for requeue), oldest first; [] if unknown.
   */
  remove(swarmletId: string): Claim[] {
    const slot = this.slots.get(swarmletId);
    if (!slot) return [];
    const ended = [...slot.taskIds].map((taskId) => this.live.get(taskId)).filter((entry) => entry !== undefined);
    ended.sort((a, b) => a.seq - b.seq);
    for (const entry of ended) this.live.delete(entry.claim.taskId);
    this.slots.delete(swarmletId);
    this.compactHeapIfStale();
    return ended.map((entry) => entry.claim);
  }

  claim(request: ClaimRequest): ClaimResult {
    const { taskId, resources, predictedDurationMs, nowMs, placeOn } = request;
    const problem = requestProblem(request);
    if (problem !== undefined) return { ok: false, code: 'invalid', reason: problem };
    if (this.live.has(taskId))
      return {
        ok: false,
        code: 'duplicate',
        reason: `task ${taskId} already holds a claim on ${this.live.get(taskId)?.claim.swarmletId}`,
      };
    if (this.live.size >= this.options.maxClaims)
      return { ok: false, code: 'limit', reason: `task ${taskId}: ${this.live.size} live claims already (maxClaims)` };
    const cpuMilli = toMilli(resources.cpu);
    const memoryMilliMb = needMilliMb(resources.memoryMb);
    const slot = placeOn === undefined ? this.bestFit(cpuMilli, memoryMilliMb) : this.slots.get(placeOn);
    if (placeOn !== undefined && !slot)
      return {
        ok: false,
        code: 'unknown-swarmlet',
        reason: `task ${taskId}: placeOn swarmlet ${placeOn} is not registered`,
      };
    if (!slot || !fitsFree(slot, cpuMilli, memoryMilliMb))
      return this.refusal(taskId, cpuMilli, memoryMilliMb, slot && placeOn !== undefined ? slot : undefined);
    const holdMs = Math.max(this.options.minHoldMs, Math.ceil(predictedDurationMs * this.options.expirySlack));
    const claim: Claim = {
      taskId,
      swarmletId: slot.id,
      resources: { cpu: resources.cpu, memoryMb: resources.memoryMb },
      predictedDurationMs,
      claimedAtMs: nowMs,
      expiresAtMs: nowMs + holdMs,
    };
    const seq = this.nextSeq++;
    this.live.set(taskId, { claim, cpuMilli, memoryMilliMb, seq });
    slot.reservedCpuMilli += cpuMilli;
    slot.reservedMemoryMilliMb += memoryMilliMb;
    slot.taskIds.add(taskId);
    this.pushExpiry({ expiresAtMs: claim.expiresAtMs, seq, taskId });
    return { ok: true, swarmletId: slot.id, expiresAtMs: claim.expiresAtMs };
  }

  /**
   * The task completed: free its claim. Idempotent: an unknown or already-ended claim returns undefined.
   * `nowMs` lets the caller learn how long it really held (`nowMs - claimedAtMs`); the ledger keeps no clock.
   */
  release(taskId: string, nowMs: number): { readonly claim: Claim; readonly heldMs: number } | undefined {
    const entry = this.live.get(taskId);
    if (!entry) return undefined;
    this.endClaim(entry);
    this.compactHeapIfStale();
    return { claim: entry.claim, heldMs: Math.max(0, nowMs - entry.claim.claimedAtMs) };
  }

  /** Drop every claim with `expiresAtMs <= nowMs` and return exactly those, by expiry then claim order. */
  expire(nowMs: number): Claim[] {
    const expired: Claim[] = [];
    while (this.heap.length > 0 && (this.heap[0] as ExpiryEntry).expiresAtMs <= nowMs) {
      const top = this.popExpiry();
      const entry = this.live.get(top.taskId);
      // Stale entry: the claim ended, or was extended (its seq is unchanged but its expiry moved).
      if (!entry || entry.seq !== top.seq || entry.claim.expiresAtMs !== top.expiresAtMs) continue;
      this.endClaim(entry);
      expired.push(entry.claim);
    }
    return expired;
  }

  /** Move a live claim's expiry later (a slow task that is still making progress). Never shortens. */
  extend(
    taskId: string,
    untilMs: number,
  ): { readonly ok: true; readonly claim: Claim } | { readonly ok: false; readonly reason: string } {
    const entry = this.live.get(taskId);
    if (!entry) return { ok: false, reason: `task ${taskId} holds no live claim (released, expired or removed)` };
    if (!Number.isFinite(untilMs))
      return { ok: false, reason: `task ${taskId}: untilMs must be finite (got ${untilMs})` };
    if (untilMs < entry.claim.expiresAtMs)
      return {
        ok: false,
        reason: `task ${taskId}: untilMs ${untilMs} is before its current expiry ${entry.claim.expiresAtMs}; extend never shortens`,
      };
    if (untilMs === entry.claim.expiresAtMs) return { ok: true, claim: entry.claim };
    const claim: Claim = { ...entry.claim, expiresAtMs: untilMs };
    this.live.set(taskId, { ...entry, claim });
    this.pushExpiry({ expiresAtMs: untilMs, seq: entry.seq, taskId });
    return { ok: true, claim };
  }

  // ---- queries ----

  claimOf(taskId: string): Claim | undefined {
    return this.live.get(taskId)?.claim;
  }

  /** Live claims, oldest first. */
  claims(): Claim[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq).map((entry) => entry.claim);
  }

  get claimCount(): number {
    return this.live.size;
  }

  swarmlet(swarmletId: string): SwarmletView | undefined {
    const slot = this.slots.get(swarmletId);
    return slot ? viewOf(slot) : undefined;
  }

  /** Every swarmlet with its capacity, reserved and free resources, by id. */
  swarmlets(): SwarmletView[] {
    return [...this.slots.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(viewOf);
  }

  free(swarmletId: string): Resources | undefined {
    return this.swarmlet(swarmletId)?.free;
  }

  totalCapacity(): Resources {
    let cpuMilli = 0;
    let memoryMilliMb = 0;
    for (const slot of this.slots.values()) {
      cpuMilli += slot.cpuMilli;
      memoryMilliMb += slot.memoryMilliMb;
    }
    return { cpu: fromMilli(cpuMilli), memoryMb: fromMilliMb(memoryMilliMb) };
  }

  totalReserved(): Resources {
    let cpuMilli = 0;
    let memoryMilliMb = 0;
    for (const slot of this.slots.values()) {
      cpuMilli += slot.reservedCpuMilli;
      memoryMilliMb += slot.reservedMemoryMilliMb;
    }
    return { cpu: fromMilli(cpuMilli), memoryMb: fromMilliMb(memoryMilliMb) };
  }

  utilisation(): Utilisation {
    const capacity = this.totalCapacity();
    const reserved = this.totalReserved();
    return {
      cpu: capacity.cpu > 0 ? reserved.cpu / capacity.cpu : 0,
      memory: capacity.memoryMb > 0 ? reserved.memoryMb / capacity.memoryMb : 0,
    };
  }

  // ---- internals ----

  private bestFit(cpuMilli: number, memoryMilliMb: number): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots.values()) {
      if (!fitsFree(slot, cpuMilli, memoryMilliMb)) continue;
      if (!best || tighter(slot, best)) best = slot;
    }
    return best;
  }

  private endClaim(entry: LiveClaim): void {
    this.live.delete(entry.claim.taskId);
    const slot = this.slots.get(entry.claim.swarmletId);
    if (!slot) return;
    slot.reservedCpuMilli -= entry.cpuMilli;
    slot.reservedMemoryMilliMb -= entry.memoryMilliMb;
    slot.taskIds.delete(entry.claim.taskId);
  }

  /** Name the blocking resource and the amounts: "needs 512 MB, largest free is 300 MB on s2". */
  private refusal(taskId: string, cpuMilli: number, memoryMilliMb: number, pinned: Slot | undefined): ClaimResult {
    const need = `${formatCpu(fromMilli(cpuMilli))} + ${formatMb(fromMilliMb(memoryMilliMb))}`;
    const candidates = pinned ? [pinned] : [...this.slots.values()];
    if (candidates.length === 0)
      return {
        ok: false,
        code: 'exceeds-capacity',
        reason: `task ${taskId} needs ${need}; no swarmlets are registered`,
      };
    const where = pinned ? ` (placeOn ${pinned.id})` : '';
    const neverFits = candidates.every(
      (slot) => slot.memoryMilliMb < memoryMilliMb || slot.claimableCpuMilli < cpuMilli,
    );
    if (neverFits) {
      const biggestMemory = maxBy(candidates, (slot) => slot.memoryMilliMb);
      const biggestCpu = maxBy(candidates, (slot) => slot.claimableCpuMilli);
      const detail =
        memoryMilliMb > biggestMemory.memoryMilliMb
          ? `needs ${formatMb(fromMilliMb(memoryMilliMb))}, the largest capacity is ${formatMb(fromMilliMb(biggestMemory.memoryMilliMb))} on ${biggestMemory.id}`
          : cpuMilli > biggestCpu.claimableCpuMilli
            ? `needs ${formatCpu(fromMilli(cpuMilli))}, the largest claimable is ${formatCpu(fromMilli(biggestCpu.claimableCpuMilli))} on ${biggestCpu.id}`
            : `needs ${need}, no swarmlet has that much of both`;
      return {
        ok: false,
        code: 'exceeds-capacity',
        reason: `task ${taskId}${where} ${detail}; it can never fit there`,
      };
    }
    const mostMemory = maxBy(candidates, freeMemoryMilliMb);
    const mostCpu = maxBy(candidates, freeCpuMilli);
    const detail =
      memoryMilliMb > freeMemoryMilliMb(mostMemory)
        ? `needs ${formatMb(fromMilliMb(memoryMilliMb))}, largest free is ${formatMb(fromMilliMb(freeMemoryMilliMb(mostMemory)))} on ${mostMemory.id}`
        : cpuMilli > freeCpuMilli(mostCpu)
          ? `needs ${formatCpu(fromMilli(cpuMilli))}, largest free is ${formatCpu(fromMilli(freeCpuMilli(mostCpu)))} on ${mostCpu.id}`
          : `needs ${need}, no swarmlet has both free (most free memory: ${formatMb(fromMilliMb(freeMemoryMilliMb(mostMemory)))} with ${formatCpu(fromMilli(freeCpuMilli(mostMemory)))} on ${mostMemory.id})`;
    return { ok: false, code: 'insufficient-free', reason: `task ${taskId}${where} ${detail}` };
  }

  private pushExpiry(entry: ExpiryEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(heap[index] as ExpiryEntry, heap[parent] as ExpiryEntry)) break;
      [heap[index], heap[parent]] = [heap[parent] as ExpiryEntry, heap[index] as ExpiryEntry];
      index = parent;
    }
  }

  private popExpiry(): ExpiryEntry {
    const heap = this.heap;
    const top = heap[0] as ExpiryEntry;
    const last = heap.pop() as ExpiryEntry;
    if (heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && earlier(heap[left] as ExpiryEntry, heap[smallest] as ExpiryEntry)) smallest = left;
      if (right < heap.length && earlier(heap[right] as ExpiryEntry, heap[smallest] as ExpiryEntry)) smallest = right;
      if (smallest === index) return top;
      [heap[index], heap[smallest]] = [heap[smallest] as ExpiryEntry, heap[index] as ExpiryEntry];
      index = smallest;
    }
  }

  /** Bound the heap: once stale entries outnumber live claims, rebuild it from the live claims. */
  private compactHeapIfStale(): void {
    if (this.heap.length <= 2 * this.live.size + 64) return;
    this.heap = [];
    for (const entry of this.live.values())
      this.pushExpiry({ expiresAtMs: entry.claim.expiresAtMs, seq: entry.seq, taskId: entry.claim.taskId });
  }
}

function validateOptions(options: LedgerOptions): LedgerOptions {
  const { expirySlack, minHoldMs, cpuOvercommit, maxSwarmlets, maxClaims } = options;
  if (!(Number.isFinite(expirySlack) && expirySlack >= 1))
    throw new InputError(
      'expirySlack',
      `is ${expirySlack}`,
      'use a number ≥ 1 (2 holds a claim for twice its predicted duration)',
    );
  if (!isAmount(minHoldMs)) throw new InputError('minHoldMs', `is ${minHoldMs}`, 'use a number of milliseconds ≥ 0');
  if (!(Number.isFinite(cpuOvercommit) && cpuOvercommit >= 1))
    throw new InputError(
      'cpuOvercommit',
      `is ${cpuOvercommit}`,
      'use 1 for no CPU overcommit, or a larger factor such as 1.5',
    );
  if (!(Number.isInteger(maxSwarmlets) && maxSwarmlets > 0))
    throw new InputError('maxSwarmlets', `is ${maxSwarmlets}`, 'use a positive integer');
  if (!(Number.isInteger(maxClaims) && maxClaims > 0))
    throw new InputError('maxClaims', `is ${maxClaims}`, 'use a positive integer');
  return options;
}

function requestProblem({ taskId, resources, predictedDurationMs, nowMs }: ClaimRequest): string | undefined {
  if (taskId === '') return 'taskId is empty';
  if (!isAmount(resources.cpu)) return `task ${taskId}: resources.cpu must be finite and ≥ 0 (got ${resources.cpu})`;
  if (!isAmount(resources.memoryMb))
    return `task ${taskId}: resources.memoryMb must be finite and ≥ 0 (got ${resources.memoryMb})`;
  if (!isAmount(predictedDurationMs))
    return `task ${taskId}: predictedDurationMs must be finite and ≥ 0 (got ${predictedDurationMs})`;
  if (!Number.isFinite(nowMs)) return `task ${taskId}: nowMs must be finite (got ${nowMs})`;
  return undefined;
}

const freeCpuMilli = (slot: Slot): number => Math.max(0, slot.claimableCpuMilli - slot.reservedCpuMilli);
const freeMemoryMilliMb = (slot: Slot): number => Math.max(0, slot.memoryMilliMb - slot.reservedMemoryMilliMb);
const fitsFree = (slot: Slot, cpuMilli: number, memoryMilliMb: number): boolean =>
  cpuMilli <= freeCpuMilli(slot) && memoryMilliMb <= freeMemoryMilliMb(slot);

/** Best fit: least free memory first (what is left after the claim ranks the same), then least free CPU, then id. */
function tighter(a: Slot, b: Slot): boolean {
  if (freeMemoryMilliMb(a) !== freeMemoryMilliMb(b)) return freeMemoryMilliMb(a) < freeMemoryMilliMb(b);
  if (freeCpuMilli(a) !== freeCpuMilli(b)) return freeCpuMilli(a) < freeCpuMilli(b);
  return a.id < b.id;
}

const earlier = (a: ExpiryEntry, b: ExpiryEntry): boolean =>
  a.expiresAtMs < b.expiresAtMs || (a.expiresAtMs === b.expiresAtMs && a.seq < b.seq);

/** First element with the largest key (ties keep the smallest id, since slots are compared in id order). */
function maxBy(slots: readonly Slot[], key: (slot: Slot) => number): Slot {
  const sorted = [...slots].sort((a, b) => key(b) - key(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted[0] as Slot;
}

function viewOf(slot: Slot): SwarmletView {
  return {
    id: slot.id,
    capacity: { cpu: fromMilli(slot.cpuMilli), memoryMb: fromMilliMb(slot.memoryMilliMb) },
    reserved: { cpu: fromMilli(slot.reservedCpuMilli), memoryMb: fromMilliMb(slot.reservedMemoryMilliMb) },
    free: { cpu: fromMilli(freeCpuMilli(slot)), memoryMb: fromMilliMb(freeMemoryMilliMb(slot)) },
    claimCount: slot.taskIds.size,
  };
}
