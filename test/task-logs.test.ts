/**
 * An embedded swarm keeps what its tasks print: taskLogs returns each micro-task's lines, attributed to it and to the
 * swarmlet that ran it (real swarmlet processes; the lines are still printed to stderr as before).
 */
import { afterEach, expect, it } from 'vitest';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

it('taskLogs: a micro-task prints; its lines come back under its id (<job>:<label>) and its swarmlet', async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/printer.task.ts'], maxSwarmlets: 2 });
  const output = await swarm.run({
    tasks: [
      { id: 'first', type: 'printer', input: { lines: 3 } },
      { id: 'second', type: 'printer', input: { lines: 120 }, deps: ['first'] },
    ],
  });
  expect(output).toEqual({ second: 120 });
  // The pipes may deliver the last lines just after the result.
  const deadline = Date.now() + 5_000;
  while (swarm.taskLogs({ microTaskId: '1:second' }).lines.at(-1)?.line !== 'second line 119' && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const first = swarm.taskLogs({ microTaskId: '1:first' }).lines;
  expect(first.map((l) => l.line)).toEqual(['first line 0', 'first line 1', 'first line 2']);
  expect(first.every((l) => l.microTaskId === '1:first' && typeof l.atMs === 'number')).toBe(true);
  const second = swarm.taskLogs({ microTaskId: '1:second' }).lines;
  expect(second.map((l) => l.line)).toEqual(Array.from({ length: 50 }, (_, i) => `second line ${70 + i}`));
  const swarmletId = first[0]!.swarmletId;
  expect(swarm.swarmlets().map((s) => s.id)).toContain(swarmletId);
  const ofSwarmlet = swarm.taskLogs({ swarmletId }).lines;
  expect(ofSwarmlet.length).toBeGreaterThan(0);
  expect(ofSwarmlet.every((l) => l.swarmletId === swarmletId)).toBe(true);
  for (const line of ofSwarmlet)
    expect(line.line.startsWith(`${line.microTaskId!.slice('1:'.length)} line `)).toBe(true);
});

it('taskLogs: two jobs with the same labels keep their lines apart', async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/printer.task.ts'], maxSwarmlets: 1 });
  const job = { tasks: [{ id: 'same', type: 'printer', input: { lines: 30 } }] };
  await Promise.all([swarm.run(job), swarm.run(job)]);
  const deadline = Date.now() + 5_000;
  const ofJob = (jobId: number) => swarm!.taskLogs({ microTaskId: `${jobId}:same` }).lines;
  while ((ofJob(1).length < 30 || ofJob(2).length < 30) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  for (const jobId of [1, 2])
    expect(ofJob(jobId).map((l) => l.line)).toEqual(Array.from({ length: 30 }, (_, i) => `same line ${i}`));
  expect(swarm.taskLogs({ microTaskId: 'same' }).lines).toEqual([]);
});
