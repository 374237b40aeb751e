import { describe, expect, it } from 'vitest';
import { drainPlan, type RunningSwarmlet } from '../src/place/drain-plan.js';
import { NEW_NODE_HEALTH, recordHeartbeat } from '../src/place/node-health.js';
import { parseNodeAdvertisement } from '../src/place/node-probe.js';
import type { AuctionNode } from '../src/place/offers.js';

const NOW = Date.UTC(2025, 0, 15, 22, 0); // 22:00 UTC

function node(nodeId: string, extra: object = {}, heartbeatAgoMs = 0): AuctionNode {
  const parsed = parseNodeAdvertisement({
    nodeId,
    kind: 'personal',
    capacity: { cpu: 8, memoryMb: 16_384 },
    pricePerCoreSecond: 0.00002,
    consent: { granted: true },
    ...extra,
  });
  if (!parsed.ok) throw parsed.error;
  return { advertisement: parsed.value, health: recordHeartbeat(NEW_NODE_HEALTH, NOW - heartbeatAgoMs) };
}

const swarmlet = (swarmletId: string, nodeId: string, microTaskIds: string[], cpu = 1): RunningSwarmlet => ({
  swarmletId,
  nodeId,
  taskType: 'render',
  demand: { cpu, memoryMb: 1_024 },
  microTaskIds,
});

describe('drain plan: what moves when a node may no longer hold its work', () => {
  const running = [
    swarmlet('s1', 'laptop', ['t1', 't2']),
    swarmlet('s2', 'laptop', ['t3']),
    swarmlet('s3', 'desk', ['t4']),
  ];

  const cases: { name: string; laptop: AuctionNode; drained: string[]; reason: RegExp | undefined }[] = [
    { name: 'consent still granted: nothing moves', laptop: node('laptop'), drained: [], reason: undefined },
    {
      name: 'consent revoked: drains at once',
      laptop: node('laptop', { consent: { granted: false } }),
      drained: ['s1', 's2'],
      reason: /no consent/,
    },
    {
      name: 'consent hours over',
      laptop: node('laptop', { consent: { granted: true, hours: [{ from: 8, to: 18 }] } }),
      drained: ['s1', 's2'],
      reason: /outside consent hours 8–18/,
    },
    {
      name: 'owner back at an idle-only machine',
      laptop: node('laptop', { consent: { granted: true, idleOnly: true }, idle: false }),
      drained: ['s1', 's2'],
      reason: /idle-only/,
    },
    {
      name: 'agent dead (no heartbeat past the ttl)',
      laptop: node('laptop', {}, 9_100),
      drained: ['s1', 's2'],
      reason: /dead, no heartbeat for 9.1 s > ttl 5 s/,
    },
    { name: 'agent only suspect: keeps its work', laptop: node('laptop', {}, 3_000), drained: [], reason: undefined },
    {
      name: 'CPU share lowered to one core: the swarmlet with fewer micro-tasks moves',
      laptop: node('laptop', { consent: { granted: true, maxCpuShare: 0.125 } }),
      drained: ['s2'],
      reason: /over the node's caps \(1 cores/,
    },
  ];
  it.each(cases)('$name', ({ laptop, drained, reason }) => {
    const plan = drainPlan([laptop, node('desk')], running, NOW);
    expect(plan.drains.map((drain) => drain.swarmletId)).toEqual(drained);
    for (const drain of plan.drains) expect(drain.reason).toMatch(reason as RegExp);
    const moved = running
      .filter((candidate) => drained.includes(candidate.swarmletId))
      .flatMap((candidate) => candidate.microTaskIds);
    expect(plan.reassignments.map((reassignment) => reassignment.microTaskId)).toEqual(moved);
    expect(plan.reassignments.every((reassignment) => reassignment.fromNodeId === 'laptop')).toBe(true);
    const replaced = plan.replacements.reduce((sum, replacement) => sum + replacement.swarmlets, 0);
    expect(replaced).toBe(drained.length);
  });

  it('groups replacements by shape and names the nodes they leave, ready for a new auction', () => {
    const plan = drainPlan(
      [node('laptop', { consent: { granted: false } }), node('desk', { consent: { granted: false } })],
      [...running, swarmlet('s4', 'desk', [], 2)],
      NOW,
    );
    expect(plan.replacements).toEqual([
      { taskType: 'render', demand: { cpu: 1, memoryMb: 1_024 }, swarmlets: 3, fromNodeIds: ['laptop', 'desk'] },
      { taskType: 'render', demand: { cpu: 2, memoryMb: 1_024 }, swarmlets: 1, fromNodeIds: ['desk'] },
    ]);
  });

  it('work on a node the registry no longer knows moves too', () => {
    const plan = drainPlan([node('desk')], running, NOW);
    expect(plan.drains.map((drain) => [drain.swarmletId, drain.reason])).toEqual([
      ['s1', 'node is not registered (never heard or removed)'],
      ['s2', 'node is not registered (never heard or removed)'],
    ]);
  });
});
