import { afterEach, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';

// A job that outgrows maxMicroTasksPerJob through nested splits fails alone and at once, with the
// limit and an accepted value in its error; the other jobs of the same Swarm are not touched.
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});
const tasks = ['test/fixtures/tree.task.ts', 'test/fixtures/noop.task.ts'];
const LIMIT = 3_000;
/** Micro-tasks a tree job of `leaves` leaves makes: a split or a run per node, plus a join per inner node. */
const microTasksOf = (leaves: number) => 3 * leaves - 2;

it('a nested split over maxMicroTasksPerJob fails its own job with the limit and a fix; two others complete', async () => {
  swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20, maxMicroTasksPerJob: LIMIT });
  const leaves = 4_096; // 12,286 micro-tasks: the splits cross the limit deep in the tree, many per result batch
  const oversized = swarm.run({ type: 'tree', input: { from: 0, to: leaves } }).catch((error: unknown) => error);
  const healthyTree = swarm.run({ type: 'tree', input: { from: 0, to: 900 } });
  const healthyDag = swarm.run({
    tasks: Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'noop', input: i })),
  });
  const failure = await oversized;
  expect(failure).toBeInstanceOf(InputError);
  expect((failure as Error).message).toMatch(/maxMicroTasksPerJob/);
  const fixValue = (failure as InputError).fixValue;
  expect(fixValue).toEqual({ value: expect.any(Number) });
  expect((fixValue as { value: number }).value).toBeGreaterThan(LIMIT);
  await expect(healthyTree).resolves.toBe(900);
  await expect(healthyDag).resolves.toHaveProperty('n499', 499);
  // Failed at the crossing, not after running the whole tree.
  const treeRuns = swarm.summary().taskTypes.find((type) => type.taskType === 'tree')!.done;
  expect(treeRuns).toBeLessThan(LIMIT + microTasksOf(900));
  // The swarm goes on serving, and the suggested limit is accepted and enough for the job.
  await expect(swarm.run({ type: 'noop', input: 7 })).resolves.toBe(7);
  await swarm.stop();
  swarm = await Swarm.start({ tasks, maxSwarmlets: 2, maxMicroTasksPerJob: microTasksOf(leaves) });
  await expect(swarm.run({ type: 'tree', input: { from: 0, to: leaves } })).resolves.toBe(leaves);
});
