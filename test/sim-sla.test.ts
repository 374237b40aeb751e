import { describe, expect, it } from 'vitest';
import { replaySla, type Scheduler, type SlaRequest } from '../src/sim/sla/sla-replay.js';
import { fifoScheduler } from '../src/sim/sla/schedulers.js';

const request = (
  id: number,
  arrivalMs: number,
  costMs: number,
  priorityClass: SlaRequest['priorityClass'],
  deadlineAtMs?: number,
): SlaRequest => ({ id, owner: 'o', arrivalMs, costMs, priorityClass, deadlineAtMs });

/** Strict priority by class, FIFO within one (a test double for the SLA queue). */
function strictPriority(): Scheduler {
  const waiting: SlaRequest[] = [];
  const rank = { high: 0, normal: 1, low: 2 } as const;
  return {
    name: 'strict',
    push: (r) => (waiting.push(r), { accepted: true }),
    pop: () => {
      if (waiting.length === 0) return undefined;
      let best = 0;
      for (let i = 1; i < waiting.length; i++)
        if (rank[waiting[i]!.priorityClass] < rank[waiting[best]!.priorityClass]) best = i;
      return waiting.splice(best, 1)[0];
    },
  };
}

describe('SLA replay (discrete events, non-preemptive servers)', () => {
  // One server. A low request occupies it 0–10 s; a normal (t=1 s) and a high (t=2 s, deadline 14 s) wait.
  const requests = [
    request(0, 0, 10_000, 'low'),
    request(1, 1_000, 5_000, 'normal', 30_000),
    request(2, 2_000, 3_000, 'high', 14_000),
  ];

  it('FIFO serves in arrival order: the high request starts at 15 s and misses its deadline', () => {
    const outcome = replaySla(requests, 1, fifoScheduler());
    const high = outcome.classes.find((c) => c.priorityClass === 'high')!;
    expect(high).toMatchObject({ requests: 1, completed: 1, deadlineMisses: 1, waitMsP50: 13_000 });
    expect(outcome.classes.find((c) => c.priorityClass === 'normal')).toMatchObject({
      deadlineMisses: 0,
      waitMsP50: 9_000,
    });
  });

  it('priority order serves the high request first when the server frees (10 s): it meets its deadline', () => {
    const outcome = replaySla(requests, 1, strictPriority());
    expect(outcome.classes.find((c) => c.priorityClass === 'high')).toMatchObject({
      deadlineMisses: 0,
      waitMsP50: 8_000,
    });
    expect(outcome.classes.find((c) => c.priorityClass === 'normal')).toMatchObject({
      deadlineMisses: 0,
      waitMsP50: 12_000,
    });
  });

  it('uses every server, accounts every request once, and counts refusals apart', () => {
    // 100 ms of work every 30 ms: 3.3 servers' worth, so 4 keep up and nobody waits.
    const many = Array.from({ length: 100 }, (_, i) =>
      request(i, i * 30, 100, i % 2 === 0 ? 'high' : 'low', i * 30 + 150),
    );
    const outcome = replaySla(many, 4, fifoScheduler());
    expect(outcome.classes.reduce((sum, c) => sum + c.completed, 0)).toBe(100);
    expect(
      outcome.classes.filter((c) => c.requests > 0).every((c) => c.deadlineMisses === 0 && c.waitMsP99 === 0),
    ).toBe(true);
    // With 3 servers the same stream falls behind: waits grow and deadlines are missed.
    const tooFew = replaySla(many, 3, fifoScheduler());
    expect(tooFew.classes.some((c) => c.deadlineMisses > 0)).toBe(true);
    const inner = fifoScheduler();
    const refusing: Scheduler = {
      name: 'refuse-low',
      push: (r, now, servers) =>
        r.priorityClass === 'low'
          ? { accepted: false, reason: 'no-low', message: `low request ${r.id} refused` }
          : inner.push(r, now, servers),
      pop: (now, servers) => inner.pop(now, servers),
    };
    const refused = replaySla(many, 4, refusing);
    expect(refused.classes.find((c) => c.priorityClass === 'low')).toMatchObject({
      requests: 50,
      rejected: 50,
      completed: 0,
      rejections: [{ reason: 'no-low', count: 50, example: 'low request 1 refused' }],
    });
    expect(refused.classes.find((c) => c.priorityClass === 'high')).toMatchObject({
      requests: 50,
      rejected: 0,
      completed: 50,
    });
  });

  it('fails loudly when a scheduler loses accepted work', () => {
    const losing: Scheduler = { name: 'losing', push: () => ({ accepted: true }), pop: () => undefined };
    expect(() => replaySla(requests, 1, losing)).toThrow(
      /1 requests, 0 completed \+ 0 rejected: the scheduler lost accepted work/,
    );
  });
});

describe('swarmlet sim on a request trace (end to end)', () => {
  it('compares FIFO and the SLA queue per seed and class, the same way every time', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '..');
    const sim = () =>
      promisify(execFile)(
        process.execPath,
        [
          join(root, 'bin', 'swarmlet.js'),
          'sim',
          '--trace',
          'test/fixtures/traces/azure-llm-2023',
          '--seeds',
          '2',
          '--no-progress',
        ],
        { cwd: root },
      );
    const first = await sim();
    const second = await sim();
    expect(second.stdout).toBe(first.stdout); // deterministic per seed
    expect(first.stdout).toMatch(/^200 requests · 1\.5× the capacity of 8 servers/);
    expect(first.stdout).toContain(
      '| seed | scheduler | class | requests | completed | rejected | deadline misses | wait p50 | wait p99 |',
    );
    for (const scheduler of ['fifo', 'sla-queue (forecast reserve, admission)']) {
      for (const cls of ['high', 'normal', 'low']) expect(first.stdout).toContain(`| 2 | ${scheduler} | ${cls} |`);
    }
  });
});
