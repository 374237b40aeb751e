// The server's clock. Every atMs the API gives is on the runtime's clock (a monotonic one in the embedded runtime,
// the epoch in a cluster), so the page maps them onto its own clock with the status's nowMs.
import { clockTime } from './format.js';

const SAMPLES_KEPT = 20;
const offsets = [];

export const serverClock = {
  known: false,
  /** Page clock minus server clock; the smallest seen, since a late delivery only makes it look larger. */
  offsetMs: 0,
  observe(serverNowMs) {
    offsets.push(Date.now() - serverNowMs);
    if (offsets.length > SAMPLES_KEPT) offsets.shift();
    this.offsetMs = Math.min(...offsets);
    this.known = true;
  },
  now() {
    return Date.now() - this.offsetMs;
  },
  /** A server time as the time of day here. */
  timeOfDay(serverMs) {
    return clockTime(serverMs + this.offsetMs);
  },
};
