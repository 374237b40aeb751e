import { describe, expect, it } from 'vitest';
import { AdmissionControl } from '../src/sim/sla/admission.js';
import { HighReserve } from '../src/sim/sla/high-reserve.js';
import { slaScheduler, type SlaSchedulerOptions } from '../src/sim/sla/schedulers.js';
import { replaySla, type Scheduler, type SlaRequest } from '../src/sim/sla/sla-replay.js';

const request = (
  id: number,
  arrivalMs: number,
  costMs: number,
  priorityClass: SlaRequest['priorityClass'],
  deadlineAtMs?: number,
): SlaRequest => ({ id, owner: 'o', arrivalMs, costMs, priorityClass, deadlineAtMs });

describe('admission control (predicted wait against deadline or limit)', () => {
  const control = () => new AdmissionControl({ exempt: ['high'], noDeadlineWaitLimitMs: 60_000 });

  it('refuses deadline work its predicted wait leaves no time for, and says why', () => {
    // 100 s of work ahead on 2 servers: a 50 s wait, then 5 s of its own.
    const capacity = { servers: 2, aheadMs: 100_000 };
    const refused = control().check(request(1, 0, 5_000, 'normal', 40_000), 0, capacity);
    expect(refused).toMatchObject({ accepted: false, reason: 'deadline-unreachable' });
    expect(refused.accepted === false && refused.message).toBe(
      'normal request 1 refused: predicted wait 50.0 s (100.0 s of work ahead ÷ 2 servers) + its cost 5.0 s ends after its deadline in 40.0 s',
    );
    expect(control().check(request(1, 0, 5_000, 'normal', 60_000), 0, capacity)).toEqual({ accepted: true });
  });

  it('counts admitted work due earlier as ahead, and forgets it once it starts', () => {
    const admission = control();
    admission.add(request(1, 0, 15_000, 'normal', 20_000), 0);
    // Due after request 1: it waits 15 s, and 15 + 10 > 22.
    const late = request(2, 0, 10_000, 'normal', 22_000);
    expect(admission.check(late, 0, { servers: 1, aheadMs: 0 })).toMatchObject({
      accepted: false,
      reason: 'deadline-unreachable',
    });
    admission.remove(1);
    expect(admission.check(late, 0, { servers: 1, aheadMs: 0 })).toEqual({ accepted: true });
  });

  it('refuses a newcomer due first that would push an admitted request past its deadline, but not for one already late', () => {
    const admission = control();
    admission.add(request(1, 0, 10_000, 'normal', 12_000), 0); // on time with 2 s to spare
    const pushy = admission.check(request(2, 0, 5_000, 'normal', 11_000), 0, { servers: 1, aheadMs: 0 });
    expect(pushy).toMatchObject({ accepted: false, reason: 'would-make-admitted-late' });
    expect(pushy.accepted === false && pushy.message).toContain('admitted normal request 1');
    const hopeless = control();
    hopeless.add(request(1, 0, 10_000, 'normal', 5_000), 0); // late whatever comes
    expect(hopeless.check(request(2, 0, 2_000, 'normal', 3_000), 0, { servers: 1, aheadMs: 0 })).toEqual({
      accepted: true,
    });
  });

  it('holds work without a deadline to the wait limit, and never refuses an exempt class', () => {
    expect(control().check(request(1, 0, 1_000, 'low'), 0, { servers: 1, aheadMs: 59_000 })).toEqual({
      accepted: true,
    });
    const refused = control().check(request(1, 0, 1_000, 'low'), 0, { servers: 1, aheadMs: 61_000 });
    expect(refused).toMatchObject({ accepted: false, reason: 'wait-over-limit' });
    expect(refused.accepted === false && refused.message).toContain('exceeds the limit of 60.0 s');
    expect(control().check(request(1, 0, 1_000, 'high', 2_000), 0, { servers: 1, aheadMs: 1e9 })).toEqual({
      accepted: true,
    });
  });
});

describe('high reserve sized from forecast high demand', () => {
  const options = { fastWindowMs: 30_000, slowWindowMs: 600_000, headroom: 1.25, minServers: 1 };

  it('holds the minimum before any high arrival, and never all servers', () => {
    const reserve = new HighReserve(options);
    expect(reserve.busyServersAt(0)).toBe(0);
    expect(reserve.serversAt(0, 8)).toBe(1);
    for (let i = 0; i < 40; i++) reserve.observe(0, 3_000); // a burst: 120 s of work at once = 4 servers for 30 s
    expect(reserve.busyServersAt(0)).toBeCloseTo(4, 6);
    expect(reserve.serversAt(0, 8)).toBe(5); // ceil(4 × 1.25)
    expect(reserve.serversAt(0, 4)).toBe(3); // lower classes keep one server
  });

  it('follows a steady stream, then decays when it stops while the long window still remembers it', () => {
    const reserve = new HighReserve(options);
    for (let t = 0; t < 300_000; t += 500) reserve.observe(t, 1_000); // 1 s of work every 0.5 s: 2 servers
    expect(reserve.busyServersAt(300_000)).toBeCloseTo(2, 1);
    expect(reserve.serversAt(300_000, 8)).toBe(3); // ceil(2 × 1.25)
    const later = reserve.busyServersAt(600_000); // 5 min of silence: the 30 s window forgot, the 10 min one not
    expect(later).toBeGreaterThan(0.3);
    expect(later).toBeLessThan(0.6);
    expect(reserve.serversAt(600_000, 8)).toBe(1);
  });

  it('names the field, the value and the fix for bad options', () => {
    expect(() => new HighReserve({ ...options, headroom: 0.5 })).toThrow(
      'high reserve headroom = 0.5: use a factor ≥ 1 (1 = exactly the forecast)',
    );
    expect(() => new HighReserve({ ...options, fastWindowMs: 0 })).toThrow(
      'high reserve fastWindowMs = 0: use a window > 0 ms',
    );
  });
});

/** When each request started, by id. */
function startTimes(requests: readonly SlaRequest[], servers: number, scheduler: Scheduler): Map<number, number> {
  const started = new Map<number, number>();
  replaySla(requests, servers, {
    name: scheduler.name,
    push: (r, nowMs, view) => scheduler.push(r, nowMs, view),
    pop: (nowMs, view) => {
      const r = scheduler.pop(nowMs, view);
      if (r) started.set(r.id, nowMs);
      return r;
    },
  });
  return started;
}

describe('SLA scheduler: reserve, lending and admission wired together', () => {
  const fixed = (fixedServers: number, admission: SlaSchedulerOptions['admission'] = false): SlaSchedulerOptions => ({
    queue: { agingBelowHigh: true },
    reserve: { fixedServers },
    lendWithinMs: 10_000,
    admission,
  });

  it('keeps long lower work off the reserved servers, lends them to short work, and high starts at once', () => {
    // 4 servers, 2 reserved. At 0: two long low requests, a short one, a third long one; a high one at 1 s.
    const requests = [
      request(0, 0, 60_000, 'low'),
      request(1, 0, 60_000, 'low'),
      request(2, 0, 5_000, 'low'),
      request(3, 0, 60_000, 'low'),
      request(4, 1_000, 5_000, 'high', 41_000),
    ];
    const reserved = startTimes(requests, 4, slaScheduler(fixed(2)));
    expect(Object.fromEntries(reserved)).toEqual({ 0: 0, 1: 0, 2: 0, 3: 60_000, 4: 1_000 });
    // Without a reserve the third long request takes the last server, and high waits for the short one.
    const unreserved = startTimes(requests, 4, slaScheduler(fixed(0)));
    expect(Object.fromEntries(unreserved)).toEqual({ 0: 0, 1: 0, 2: 0, 3: 0, 4: 5_000 });
  });

  it('refuses lower work that cannot make its deadline, counts it apart with the reason, and completes all it accepted', () => {
    // One server busy 100 s with the first request: the second (deadline 50 s) cannot start before 100 s.
    const requests = [
      request(0, 0, 100_000, 'normal', 300_000),
      request(1, 1_000, 10_000, 'normal', 50_000),
      request(2, 2_000, 1_000, 'high', 40_000),
    ];
    const outcome = replaySla(requests, 1, slaScheduler(fixed(0, { exempt: ['high'], noDeadlineWaitLimitMs: 60_000 })));
    expect(outcome.scheduler).toBe('sla-queue (reserve 0, admission)');
    const normal = outcome.classes.find((c) => c.priorityClass === 'normal')!;
    expect(normal).toMatchObject({ requests: 2, completed: 1, rejected: 1, deadlineMisses: 0 });
    expect(normal.rejections).toEqual([
      {
        reason: 'deadline-unreachable',
        count: 1,
        example: expect.stringContaining('normal request 1 refused: predicted wait 99.0 s'),
      },
    ]);
    expect(outcome.classes.find((c) => c.priorityClass === 'high')).toMatchObject({
      requests: 1,
      completed: 1,
      rejected: 0,
    });
  });
});
