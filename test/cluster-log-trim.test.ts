import { describe, expect, it } from 'vitest';
import { LogTrimPoints } from '../src/runtime/cluster/log-trim.js';

// Where the director's log may be cut: before the oldest running job's first entry, once the point is old enough.
const counters = (n: number) => ({ nextJobId: n, nextTaskId: 10 * n });

describe('log trim points', () => {
  it('never cuts a running job: the point waits at its first entry until it ends', () => {
    const points = new LogTrimPoints(1_000);
    points.began('a', '100-0', counters(1));
    expect(points.due(0, '150-0', counters(2))).toBeUndefined(); // not old enough yet
    expect(points.due(5_000, '300-0', counters(3))).toEqual({ minId: '100-0', ...counters(1) });
    points.trimmed('100-0');
    expect(points.due(9_000, '400-0', counters(3))).toBeUndefined(); // already there
    points.ended('a');
    expect(points.due(9_500, '400-0', counters(3))).toBeUndefined(); // the point past the log is new: it waits
    expect(points.due(10_600, '400-0', counters(3))).toEqual({ minId: '400-1', ...counters(3) });
  });

  it('the oldest running job decides, in log order', () => {
    const points = new LogTrimPoints(0);
    points.began('a', '100-0', counters(1));
    points.began('b', '200-0', counters(2));
    points.ended('a');
    expect(points.due(0, '250-3', counters(3))).toEqual({ minId: '200-0', ...counters(2) });
  });

  it('nothing before the first entry, nor again where a restored log already starts', () => {
    const points = new LogTrimPoints(0);
    expect(points.due(0, '0-0', counters(1))).toBeUndefined();
    points.restored('50-1');
    expect(points.due(0, '50-0', counters(1))).toBeUndefined();
  });
});
