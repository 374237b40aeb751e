/**
 * Controllers that act on a periodic tick (Kubernetes HPA sync, Knative autoscaler tick) only
 * change anything at tick times. We align ticks to absolute time zero (`nowMs` multiples of the
 * period): a real controller's phase is arbitrary, and any fixed phase gives the same average.
 */

/** The first tick (a multiple of `periodMs`) at or after `atMs`. */
export function tickAtOrAfter(atMs: number, periodMs: number): number {
  return Math.ceil(atMs / periodMs) * periodMs;
}
