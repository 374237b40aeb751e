import { describe, expect, it } from 'vitest';
import { admit, type AdmissionState } from '../src/schedule/admission.js';

// Defaults: low admitted while backlog ≤ 10 s, normal ≤ 30 s, high ≤ 120 s (hard cap).
// Backlog = Σ queued costMs / workers.
const state = (backlogCostMs: number, workers: number, size = 10, capacity = 100): AdmissionState => ({
  size,
  capacity,
  backlogCostMs,
  workers,
});

describe('admit', () => {
  it.each([
    { s: state(0, 1), cls: 'low', admitted: true },
    { s: state(40_000, 4), cls: 'low', admitted: true }, // exactly 10 s: at the limit is still in
    {
      s: state(40_004, 4),
      cls: 'low',
      admitted: false,
      code: 'backlog-over-limit',
      retryAfterMs: 1,
      reason: 'low: predicted backlog 10.001 s > low limit 10 s (40.004 s of queued work on 4 worker(s))',
    },
    { s: state(40_004, 4), cls: 'normal', admitted: true },
    {
      s: state(50_000, 1),
      cls: 'low',
      admitted: false,
      code: 'backlog-over-limit',
      retryAfterMs: 40_000,
      reason: 'low: predicted backlog 50 s > low limit 10 s (50 s of queued work on 1 worker(s))',
    },
    {
      s: state(50_000, 1),
      cls: 'normal',
      admitted: false,
      code: 'backlog-over-limit',
      retryAfterMs: 20_000,
      reason: 'normal: predicted backlog 50 s > normal limit 30 s (50 s of queued work on 1 worker(s))',
    },
    { s: state(50_000, 1), cls: 'high', admitted: true },
    { s: state(120_000, 1), cls: 'high', admitted: true },
    {
      s: state(121_000, 1),
      cls: 'high',
      admitted: false,
      code: 'backlog-over-limit',
      retryAfterMs: 1_000,
      reason: 'high: predicted backlog 121 s > high limit 120 s (121 s of queued work on 1 worker(s))',
    },
    // no workers yet counts as one: 5 s backlog, low still admitted
    { s: state(5_000, 0), cls: 'low', admitted: true },
    // full queue refuses every class; retry after one slot's mean cost per worker: 5 000 / 100 / 2
    {
      s: state(5_000, 2, 100, 100),
      cls: 'high',
      admitted: false,
      code: 'queue-full',
      retryAfterMs: 25,
      reason: 'high: queue full (100/100 items)',
    },
    {
      s: state(5_000, 2, 100, 100),
      cls: 'low',
      admitted: false,
      code: 'queue-full',
      retryAfterMs: 25,
      reason: 'low: queue full (100/100 items)',
    },
  ] as const)(
    'backlog $s.backlogCostMs ms / $s.workers worker(s), size $s.size/$s.capacity, $cls → admitted $admitted',
    (row) => {
      const decision = admit(row.s, { priorityClass: row.cls, costMs: 100 });
      expect(decision.admitted).toBe(row.admitted);
      if (!decision.admitted && !row.admitted) {
        expect({ code: decision.code, reason: decision.reason, retryAfterMs: decision.retryAfterMs }).toEqual({
          code: row.code,
          reason: row.reason,
          retryAfterMs: row.retryAfterMs,
        });
      }
    },
  );

  it('takes custom limits and reports the backlog it judged', () => {
    const limits = { maxBacklogMs: { low: 0, normal: 1_000, high: 2_000 } };
    expect(admit(state(1, 1), { priorityClass: 'low', costMs: 1 }, limits)).toMatchObject({
      admitted: false,
      backlogMs: 1,
      retryAfterMs: 1,
    });
    expect(admit(state(1_500, 1), { priorityClass: 'normal', costMs: 1 }, limits)).toMatchObject({
      admitted: false,
      reason: expect.stringContaining('normal limit 1 s'),
    });
    expect(admit(state(1_500, 1), { priorityClass: 'high', costMs: 1 }, limits)).toEqual({
      admitted: true,
      backlogMs: 1_500,
    });
  });
});
