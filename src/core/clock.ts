/** Time is passed in (STYLE.md §1): the runtime uses a wall clock, the simulator a virtual one. */
export interface Clock {
  nowMs(): number;
}

/** Seeded randomness for pure code: `next()` returns a float in [0, 1). */
export interface Rng {
  next(): number;
}

/** mulberry32: tiny, fast, good enough for simulation; same seed, same sequence. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
