import type { Resources } from '../core/resources.js';
import { formatAmount, formatSeconds } from './format.js';
import type { HourWindow, NodeAdvertisement } from './node-probe.js';

/**
 * Consent rules for personal machines, shared by the auction (no new work) and the drain plan
 * (move work that consent no longer allows). The agent enforces the same caps locally; the
 * director must never ask it to break them.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export type ConsentVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What Swarmlet may hold on the node in all under its consent: capacity, cut by the CPU share and memory cap. */
export function consentLimits(advertisement: NodeAdvertisement): Resources {
  const { capacity, consent } = advertisement;
  return {
    cpu: capacity.cpu * Math.min(1, consent.maxCpuShare),
    memoryMb: consent.maxMemoryMb === undefined ? capacity.memoryMb : Math.min(capacity.memoryMb, consent.maxMemoryMb),
  };
}

/** The hour of day (0–23) at `nowMs` in a time zone `utcOffsetMinutes` from UTC. */
export function localHour(nowMs: number, utcOffsetMinutes: number): number {
  return Math.floor(msOfLocalDay(nowMs, utcOffsetMinutes) / HOUR_MS);
}

export function inHourWindow(hour: number, window: HourWindow): boolean {
  return window.from < window.to ? hour >= window.from && hour < window.to : hour >= window.from || hour < window.to;
}

/** How long the consent hours stay open from `nowMs`: 0 when closed now, Infinity when every hour is allowed. */
export function openHoursRemainingMs(
  windows: readonly HourWindow[] | undefined,
  nowMs: number,
  utcOffsetMinutes: number,
): number {
  if (windows === undefined) return Infinity;
  const open = (hour: number) => windows.some((window) => inHourWindow(hour % 24, window));
  const msOfDay = msOfLocalDay(nowMs, utcOffsetMinutes);
  const hour = Math.floor(msOfDay / HOUR_MS);
  if (!open(hour)) return 0;
  let remainingMs = HOUR_MS - (msOfDay % HOUR_MS);
  for (let next = hour + 1; next <= hour + 24; next++) {
    if (!open(next)) return remainingMs;
    remainingMs += HOUR_MS;
  }
  return Infinity;
}

/**
 * May this node start work now that should last `durationMs`? Checks the explicit flag, idle-only
 * and the hours window (the whole expected duration must fit: work cut off at the window's end
 * would be drained mid-way, so it is cheaper not to start it there).
 */
export function consentAllowsWork(advertisement: NodeAdvertisement, nowMs: number, durationMs: number): ConsentVerdict {
  const { consent } = advertisement;
  if (!consent.granted) {
    return {
      ok: false,
      reason:
        advertisement.kind === 'personal'
          ? 'no consent: the owner has not granted (or revoked) consent'
          : 'no consent: consent.granted is false',
    };
  }
  if (consent.idleOnly && !advertisement.idle)
    return { ok: false, reason: 'consent is idle-only and the owner is using the machine' };
  const remainingMs = openHoursRemainingMs(consent.hours, nowMs, advertisement.utcOffsetMinutes);
  const hours = formatWindows(consent.hours ?? []);
  if (remainingMs === 0) {
    return {
      ok: false,
      reason: `outside consent hours ${hours} (local hour ${localHour(nowMs, advertisement.utcOffsetMinutes)})`,
    };
  }
  if (remainingMs < durationMs) {
    return {
      ok: false,
      reason: `consent hours ${hours} close in ${formatSeconds(remainingMs)}, before the expected ${formatSeconds(durationMs)} of work ends`,
    };
  }
  return { ok: true };
}

/**
 * Why one more swarmlet of `demand` would break the consent caps, given what is in use (undefined:
 * it fits). Physical capacity is checked separately, first, so reasons name the real limit.
 */
export function consentCapReason(advertisement: NodeAdvertisement, demand: Resources): string | undefined {
  const limits = consentLimits(advertisement);
  const { consent, capacity, inUse } = advertisement;
  const needCpu = inUse.cpu + demand.cpu;
  if (needCpu > limits.cpu + EPSILON) {
    return `consent cap maxCpuShare ${formatAmount(consent.maxCpuShare)} exceeded (needs ${formatAmount(needCpu)} of ${formatAmount(capacity.cpu)} cores, cap ${formatAmount(limits.cpu)})`;
  }
  const needMemoryMb = inUse.memoryMb + demand.memoryMb;
  if (needMemoryMb > limits.memoryMb + EPSILON) {
    return `consent cap maxMemoryMb ${formatAmount(limits.memoryMb)} exceeded (needs ${formatAmount(needMemoryMb)} MB)`;
  }
  return undefined;
}

/** Floating point slack when comparing sums of fractional cores against a cap. */
export const EPSILON = 1e-9;

export function formatWindows(windows: readonly HourWindow[]): string {
  return windows.map((window) => `${window.from}–${window.to}`).join(', ');
}

function msOfLocalDay(nowMs: number, utcOffsetMinutes: number): number {
  const localMs = nowMs + utcOffsetMinutes * 60_000;
  return ((localMs % DAY_MS) + DAY_MS) % DAY_MS;
}
