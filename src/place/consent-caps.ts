import { formatAmount } from './format.js';

/**
 * How a node holds its owner's consent caps on what its swarmlets really use, where the kernel cannot
 * hold them for it (no cgroups): the CPU share by pausing every swarmlet (SIGSTOP/SIGCONT) for a
 * duty cycle, and the memory cap by stopping the biggest swarmlet once all of them together hold
 * more. Pure: the agent measures (from /proc) and acts; these rules decide, with time passed in.
 *
 * CPU works like the kernel's CFS bandwidth control, in arrears: every look adds what the swarmlets
 * used since the last one and takes off what the cap allowed in that time (cap cores × elapsed ms).
 * What is left over is a debt, paid by pausing them all for debt ÷ cap cores: the cap's allowance
 * keeps coming while they use nothing. An unused allowance is carried forward only up to
 * `burstCpuMs`, so an idle spell never buys a long burst. Over any window the swarmlets then use at
 * most cap × window + burstCpuMs + what they use between one look and the next pause.
 */

export interface CpuThrottleOptions {
  /** Cores all swarmlets together may use: consent.maxCpuShare × the node's cores. */
  readonly capCores: number;
  /** Unused allowance carried forward at most, in CPU-ms. */
  readonly burstCpuMs: number;
  /** Longest single pause: paused swarmlets answer nothing, so they are looked at again after this. */
  readonly maxPauseMs: number;
}

export interface CpuThrottleState {
  /** When the swarmlets were last looked at; undefined before the first look. */
  readonly atMs: number | undefined;
  /** CPU-ms used beyond the cap's allowance so far (negative: allowance carried forward). */
  readonly debtCpuMs: number;
}

/** Pauses shorter than this are not made (timers on a busy machine are not finer). */
export const MIN_PAUSE_MS = 1;

export const CPU_THROTTLE_START: CpuThrottleState = { atMs: undefined, debtCpuMs: 0 };

export interface CpuThrottleDecision {
  readonly state: CpuThrottleState;
  /** How long to pause every swarmlet now; 0: let them run until the next look. */
  readonly pauseMs: number;
  /** What was used against what the cap allows, and what follows from it. */
  readonly reason: string;
}

/** One look: the swarmlets used `usedCpuMs` of CPU since the last one; how long must they pause? */
export function cpuThrottleStep(
  state: CpuThrottleState,
  usedCpuMs: number,
  nowMs: number,
  options: CpuThrottleOptions,
): CpuThrottleDecision {
  const { capCores, burstCpuMs, maxPauseMs } = options;
  const elapsedMs = state.atMs === undefined ? 0 : Math.max(0, nowMs - state.atMs);
  const debtCpuMs = Math.max(-burstCpuMs, state.debtCpuMs + Math.max(0, usedCpuMs) - capCores * elapsedMs);
  const next: CpuThrottleState = { atMs: nowMs, debtCpuMs };
  const used =
    elapsedMs > 0 ? `used ${formatAmount(usedCpuMs / elapsedMs)} cores over ${Math.round(elapsedMs)} ms` : 'first look';
  if (capCores <= 0)
    return { state: next, pauseMs: maxPauseMs, reason: `paused: the consent cap allows no CPU (${used})` };
  // A pause shorter than a timer can time is not worth two signals: the debt waits for the next look.
  if (debtCpuMs < capCores * MIN_PAUSE_MS)
    return { state: next, pauseMs: 0, reason: `running: ${used}, within the cap of ${formatAmount(capCores)} cores` };
  const pauseMs = Math.min(maxPauseMs, debtCpuMs / capCores);
  return {
    state: next,
    pauseMs,
    reason: `paused ${Math.round(pauseMs)} ms: ${used}, ${Math.round(debtCpuMs)} CPU-ms over the cap of ${formatAmount(capCores)} cores`,
  };
}

/** One swarmlet's measured memory (its own process and its descendants). */
export interface MemoryHolder {
  readonly id: string;
  readonly memoryMb: number;
}

export type MemoryCapVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly stop: string; readonly heldMb: number; readonly reason: string };

/**
 * All swarmlets together hold more than the cap: the biggest is stopped at once (it frees the most,
 * and is most likely the one that grew). Ties go to the first id, so the verdict does not depend on
 * the order of measurement.
 */
export function memoryCapVerdict(holders: readonly MemoryHolder[], capMb: number): MemoryCapVerdict {
  const heldMb = holders.reduce((sum, holder) => sum + holder.memoryMb, 0);
  if (heldMb <= capMb || holders.length === 0) return { ok: true };
  const biggest = holders.reduce((best, holder) =>
    holder.memoryMb > best.memoryMb || (holder.memoryMb === best.memoryMb && holder.id < best.id) ? holder : best,
  );
  const reason =
    holders.length === 1
      ? memoryCapExceeded(capMb, heldMb)
      : `${memoryCapExceeded(capMb, heldMb, holders.length)}; it held ${Math.round(biggest.memoryMb)} MB, the most`;
  return { ok: false, stop: biggest.id, heldMb, reason };
}

/** Whether an exit's reason says a swarmlet was stopped for the node's consent caps (`memoryCapExceeded`'s words). */
export function isCapBreak(reason: string): boolean {
  return reason.includes("the node's consent cap ");
}

/** The words a swarmlet stopped for the memory cap is reported with (agent log, the client's job, faults). */
export function memoryCapExceeded(capMb: number, heldMb: number, swarmlets = 1): string {
  const by = swarmlets > 1 ? ` by ${swarmlets} swarmlets` : '';
  return `the node's consent cap maxMemoryMb ${formatAmount(capMb)} MB was exceeded (${Math.round(heldMb)} MB held${by})`;
}
