import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { MemoryBroker } from '../src/runtime/brokers/memory-broker.js';
import { AgentWork } from '../src/runtime/cluster/agent-work.js';
import { LocalSwarmlet } from '../src/runtime/cluster/agent-swarmlets.js';
import { logEntrySchema, type LogEntry } from '../src/runtime/cluster/protocol.js';
import { MODE_RUN, RESULT_OK } from '../src/runtime/local/wire.js';
import type { WireTask } from '../src/runtime/local/ipc.js';
import type { Provider } from '../src/runtime/provider.js';

// The agent charges a crash as the embedded runtime does (hard-limits.ts culpritOf): only the micro-task its swarmlet
// was running pays an attempt; those queued behind it go back free.
async function crashWithBatch(lastStarted: number | null | undefined) {
  const broker = new MemoryBroker({ clock: { nowMs: () => 0 } });
  const sent: WireTask[] = [];
  const logged: LogEntry[] = [];
  const provider = { dispatch: (_id: string, wire: WireTask[]) => void sent.push(...wire) } as unknown as Provider;
  const redis = {
    xadd: async (...args: string[]) => {
      logged.push(logEntrySchema.parse(JSON.parse(args.at(-1)!)));
      return '1-0';
    },
  } as unknown as Redis;
  const options = { clock: { nowMs: () => 0 }, broker, redis, provider, nodeId: 'n1', logKey: 'log' };
  const work = new AgentWork({ ...options, hintDurationMs: () => undefined });
  const swarmlet = new LocalSwarmlet('s1', 's1#1', 'tiny', 'h');
  swarmlet.transition('warming');
  swarmlet.transition('idle');
  await broker.enqueue(
    Array.from({ length: 200 }, (_, i) => ({
      id: i + 1,
      taskType: 'tiny',
      priority: 1,
      attempt: 1,
      maxAttempts: 1,
      payload: { mode: MODE_RUN, input: i, depth: 0, deps: null, label: `t${i}` },
    })),
  );
  await work.pump([swarmlet]);
  work.stage(swarmlet, [[sent.shift()![0], RESULT_OK, null, 10]]); // measured as tiny: a batch comes next
  await work.pump([swarmlet]);
  const inFlight = [...swarmlet.inFlight];
  const failed = await work.orphaned(swarmlet, 'swarmlet s1 killed by SIGKILL while running it', lastStarted);
  const results = logged.flatMap((entry) => (entry.kind === 'results' ? entry.results : []));
  return { inFlight, failed, results, depth: (await broker.depths()).get('tiny') ?? 0, logged };
}

describe("an agent's swarmlet that dies with a batch in flight", () => {
  it('fails only the micro-task it was running; the rest go back to the queue as they were', async () => {
    const { inFlight, failed, results, depth } = await (async () => {
      const probe = await crashWithBatch(undefined);
      return crashWithBatch(probe.inFlight[3]);
    })();
    expect(inFlight.length).toBeGreaterThan(10);
    expect(failed).toBe(1);
    const dead = results.filter((r) => r.status === 'dead');
    expect(dead.map((r) => r.id)).toEqual([inFlight[3]]);
    // 200 enqueued, 1 done, 1 dead: the other 198 wait again, none charged.
    expect(depth).toBe(198);
  });

  it('with no black box record, the first in flight (it runs its queue in order) pays', async () => {
    const { inFlight, results, depth } = await crashWithBatch(undefined);
    expect(results.filter((r) => r.status === 'dead').map((r) => r.id)).toEqual([inFlight[0]]);
    expect(depth).toBe(198);
  });

  it('when the black box says it had started none, nobody pays', async () => {
    const { failed, results, depth } = await crashWithBatch(null);
    expect(failed).toBe(0);
    expect(results.filter((r) => r.status === 'dead')).toEqual([]);
    expect(depth).toBe(199);
  });
});
