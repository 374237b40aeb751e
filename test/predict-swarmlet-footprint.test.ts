import { describe, expect, it } from 'vitest';
import { SwarmletFootprints } from '../src/predict/swarmlet-footprint.js';

describe('swarmlet footprints: what one swarmlet of a type claims on a node', () => {
  const defaults = { cpu: 1, memoryMb: 60 };

  it('claims the default for a type nothing is known about, and a hint once declared (even below the default)', () => {
    const footprints = new SwarmletFootprints(defaults);
    expect(footprints.of('unknown')).toEqual({ cpu: 1, memoryMb: 60, reason: '1 core(s) (default), 60 MB (default)' });
    footprints.hint('tiny', { cpu: 0.25, memoryMb: 20 });
    expect(footprints.of('tiny')).toEqual({ cpu: 0.25, memoryMb: 20, reason: '0.25 core(s) (hint), 20 MB (hint)' });
  });

  it('memory is the larger of the hint and the EWMA of measurements; bad samples are dropped', () => {
    const footprints = new SwarmletFootprints(defaults);
    footprints.hint('parse', { memoryMb: 200 });
    footprints.observeMemory('parse', 100);
    expect(footprints.of('parse').memoryMb).toBe(200); // measured below the hint: the hint holds
    for (const sample of [Number.NaN, -5, 0, Number.POSITIVE_INFINITY]) footprints.observeMemory('parse', sample);
    expect(footprints.of('parse').reason).toBe('1 core(s) (default), 200 MB (hint)');
    footprints.observeMemory('parse', 600); // EWMA: 100 + 0.2 × (600 − 100) = 200, then 200 + 0.2 × (600 − 200) = 280
    footprints.observeMemory('parse', 600);
    expect(footprints.of('parse')).toEqual({
      cpu: 1,
      memoryMb: 280,
      reason: '1 core(s) (default), 280 MB (measured, 3 sample(s))',
    });
  });

  it("measurements of one type never change another type's claim", () => {
    const footprints = new SwarmletFootprints(defaults);
    footprints.observeMemory('a', 900);
    expect(footprints.of('a').memoryMb).toBe(900);
    expect(footprints.of('b').memoryMb).toBe(60);
  });
});
