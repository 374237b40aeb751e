import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CPU_THROTTLE_START,
  cpuThrottleStep,
  MIN_PAUSE_MS,
  memoryCapVerdict,
  type CpuThrottleOptions,
} from '../src/place/consent-caps.js';

/**
 * The duty-cycle throttle on a virtual clock: a machine of `machineCores` whose swarmlets want
 * `demandCores`; they run between looks and use nothing while paused, except `lagMs` after each
 * pause is decided (the signal takes a moment). A pause that ends is followed by a look at once
 * (a still-indebted node stays paused), a look that lets them run by the next one `tickMs` later.
 * Each pause's timer may fire `lateMs` late, as timers on a busy machine do.
 */
interface Machine {
  readonly machineCores: number;
  readonly demandCores: number;
  readonly tickMs: number;
  readonly lagMs: number;
  readonly lateMs: (index: number) => number;
  readonly durationMs: number;
}

function simulate(machine: Machine, options: CpuThrottleOptions): { usage: Float64Array; pauses: number } {
  const usage = new Float64Array(machine.durationMs); // CPU-ms used in each virtual ms
  const rate = Math.min(machine.demandCores, machine.machineCores);
  let state = CPU_THROTTLE_START;
  let used = 0;
  let pauses = 0;
  const run = (fromMs: number, toMs: number) => {
    const endMs = Math.min(toMs, machine.durationMs);
    for (let ms = Math.floor(fromMs); ms < endMs; ms++)
      usage[ms]! += rate * (Math.min(ms + 1, endMs) - Math.max(ms, fromMs));
    used += rate * Math.max(0, endMs - fromMs);
  };
  for (let nowMs = 0, look = 0; nowMs < machine.durationMs; look++) {
    const decision = cpuThrottleStep(state, used, nowMs, options);
    state = decision.state;
    used = 0;
    if (decision.pauseMs > 0) {
      pauses += 1;
      run(nowMs, nowMs + machine.lagMs);
      nowMs += Math.max(machine.lagMs, decision.pauseMs + machine.lateMs(look));
    } else {
      run(nowMs, nowMs + machine.tickMs);
      nowMs += machine.tickMs;
    }
  }
  return { usage, pauses };
}

/** The most CPU-ms used in any window of `windowMs`. */
function worstWindow(usage: Float64Array, windowMs: number): number {
  let sum = 0;
  let worst = 0;
  for (let ms = 0; ms < usage.length; ms++) {
    sum += usage[ms]!;
    if (ms >= windowMs) sum -= usage[ms - windowMs]!;
    worst = Math.max(worst, sum);
  }
  return worst;
}

const HALF_OF_TWO: CpuThrottleOptions = { capCores: 1, burstCpuMs: 100, maxPauseMs: 1_000 };

describe('CPU throttle (duty cycle on a virtual clock)', () => {
  it('holds busy loops on every core of a 2-core machine to a 50 % cap: ≤ cap + 10 % over any 5 s', () => {
    const machine = { machineCores: 2, demandCores: 6, tickMs: 100, lagMs: 5, lateMs: () => 0, durationMs: 60_000 };
    const { usage, pauses } = simulate(machine, HALF_OF_TWO);
    const worstCores = worstWindow(usage, 5_000) / 5_000;
    expect(worstCores).toBeLessThanOrEqual(1.1);
    // and it does not starve them: over the whole minute they get about the cap
    const meanCores = usage.reduce((a, b) => a + b, 0) / usage.length;
    expect(meanCores).toBeGreaterThan(0.95);
    expect(meanCores).toBeLessThanOrEqual(1.01);
    expect(pauses).toBeGreaterThan(250);
  });

  it('never pauses work that stays under the cap', () => {
    const machine = { machineCores: 2, demandCores: 0.9, tickMs: 100, lagMs: 5, lateMs: () => 0, durationMs: 30_000 };
    expect(simulate(machine, HALF_OF_TWO).pauses).toBe(0);
  });

  it('after an idle spell, allows only the burst it carries, not the idle time', () => {
    let state = cpuThrottleStep(CPU_THROTTLE_START, 0, 0, HALF_OF_TWO).state;
    state = cpuThrottleStep(state, 0, 60_000, HALF_OF_TWO).state; // a minute idle
    expect(state.debtCpuMs).toBe(-100);
    const burst = cpuThrottleStep(state, 400, 60_200, HALF_OF_TWO); // 2 cores for 200 ms
    expect(burst.pauseMs).toBe(100); // 400 used, 200 allowed, 100 carried: 100 over at 1 core
    expect(burst.reason).toBe('paused 100 ms: used 2 cores over 200 ms, 100 CPU-ms over the cap of 1 cores');
  });

  it('caps a single pause and keeps the rest of the debt for the next look', () => {
    const options = { capCores: 0.1, burstCpuMs: 10, maxPauseMs: 1_000 };
    let decision = cpuThrottleStep(CPU_THROTTLE_START, 0, 0, options);
    decision = cpuThrottleStep(decision.state, 800, 100, options); // 8 cores for 100 ms
    expect(decision.pauseMs).toBe(1_000);
    decision = cpuThrottleStep(decision.state, 0, 1_100, options);
    expect(decision.state.debtCpuMs).toBeCloseTo(690);
    expect(decision.pauseMs).toBe(1_000);
  });

  it('a cap of no CPU keeps them paused', () => {
    const options = { capCores: 0, burstCpuMs: 0, maxPauseMs: 500 };
    const decision = cpuThrottleStep(CPU_THROTTLE_START, 0, 0, options);
    expect(decision.pauseMs).toBe(500);
    expect(decision.reason).toMatch(/^paused: the consent cap allows no CPU/);
  });

  it('holds any machine, demand, cap and late timers to cap × window + burst + what one look carries', () => {
    fc.assert(
      fc.property(
        fc.record({
          machineCores: fc.integer({ min: 1, max: 8 }),
          demandCores: fc.double({ min: 0, max: 12, noNaN: true }),
          capCores: fc.double({ min: 0.05, max: 8, noNaN: true }),
          tickMs: fc.integer({ min: 10, max: 250 }),
          lagMs: fc.integer({ min: 0, max: 20 }),
          late: fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 16 }),
        }),
        ({ machineCores, demandCores, capCores, tickMs, lagMs, late }) => {
          const options = { capCores, burstCpuMs: capCores * 100, maxPauseMs: 1_000 };
          const machine = {
            machineCores,
            demandCores,
            tickMs,
            lagMs,
            lateMs: (index: number) => late[index % late.length]!,
            durationMs: 20_000,
          };
          const { usage } = simulate(machine, options);
          const windowMs = 5_000;
          const rate = Math.min(demandCores, machineCores);
          // What a window may catch beyond the cap: a debt too small to pause for, and at full speed what runs
          // between looks at each edge of the window (a look, its lag, and the latest a timer fires; fast-check found
          // windows that catch one such stretch at each end).
          const stretch = tickMs + lagMs + Math.max(...late);
          const carried = capCores * MIN_PAUSE_MS + 2 * rate * stretch;
          // Float sums over thousands of looks: a relative 1e-9 and an absolute nanosecond of slack (fast-check found a
          // window 5e-7 ms over the exact bound: seed 1974689536).
          const bound = (capCores * windowMs + options.burstCpuMs + carried) * (1 + 1e-9) + 1e-6;
          expect(worstWindow(usage, windowMs)).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('memory cap over all swarmlets together', () => {
  it('stops nothing while the sum is within the cap', () => {
    expect(
      memoryCapVerdict(
        [
          { id: 'a', memoryMb: 100 },
          { id: 'b', memoryMb: 156 },
        ],
        256,
      ),
    ).toEqual({ ok: true });
    expect(memoryCapVerdict([], 0)).toEqual({ ok: true });
  });

  it('stops the biggest once the sum is over, naming the cap and what was held', () => {
    const verdict = memoryCapVerdict(
      [
        { id: 'a', memoryMb: 60 },
        { id: 'b', memoryMb: 180.4 },
        { id: 'c', memoryMb: 40 },
      ],
      256,
    );
    expect(verdict).toEqual({
      ok: false,
      stop: 'b',
      heldMb: 280.4,
      reason:
        "the node's consent cap maxMemoryMb 256 MB was exceeded (280 MB held by 3 swarmlets); it held 180 MB, the most",
    });
  });

  it('names one swarmlet over the cap alone, and breaks ties by id whatever the order', () => {
    expect(memoryCapVerdict([{ id: 'x', memoryMb: 300 }], 256)).toMatchObject({
      stop: 'x',
      reason: "the node's consent cap maxMemoryMb 256 MB was exceeded (300 MB held)",
    });
    const tie = [
      { id: 'q', memoryMb: 150 },
      { id: 'p', memoryMb: 150 },
    ];
    expect(memoryCapVerdict(tie, 256)).toMatchObject({ stop: 'p' });
    expect(memoryCapVerdict([...tie].reverse(), 256)).toMatchObject({ stop: 'p' });
  });
});
