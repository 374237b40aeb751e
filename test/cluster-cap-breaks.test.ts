import { describe, expect, it } from 'vitest';
import { CAP_BREAK_MEMORY_MS, CapBreaks } from '../src/runtime/cluster/cap-breaks.js';

const REASON = "swarmlet s1 was stopped: the node's consent cap maxMemoryMb 256 MB was exceeded (301 MB held)";

describe('where types broke consent caps (the director keeps them off those nodes a while)', () => {
  it('keeps a node out of the type it broke, for a while, with the reason and how long ago', () => {
    const breaks = new CapBreaks();
    breaks.record('laptop', 'hog', REASON, 10_000);
    const live = new Set(['laptop', 'server']);
    expect(breaks.keptOut('hog', 12_400, live)).toEqual(new Map([['laptop', `${REASON} (2 s ago)`]]));
    expect(breaks.keptOut('other', 12_400, live)).toEqual(new Map());
    expect(breaks.keptOut('hog', 10_000 + CAP_BREAK_MEMORY_MS, live)).toEqual(new Map());
  });

  it('keeps no node out when that would be every live node: the type runs where it can', () => {
    const breaks = new CapBreaks();
    breaks.record('laptop', 'hog', REASON, 0);
    expect(breaks.keptOut('hog', 1, new Set(['laptop']))).toEqual(new Map());
    breaks.record('server', 'hog', REASON, 0);
    expect(breaks.keptOut('hog', 1, new Set(['laptop', 'server']))).toEqual(new Map());
    expect(breaks.keptOut('hog', 1, new Set(['laptop', 'server', 'edge'])).size).toBe(2);
    expect(breaks.keptOut('hog', 1, new Set(['server', 'edge']))).toEqual(new Map([['server', `${REASON} (0 s ago)`]]));
  });
});
