import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';

const hostsOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'swarmlet-host'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('no swarmlet or spare outlives a director killed with -9 (each exits when its channel closes)', async () => {
  const director = spawn(process.execPath, ['test/fixtures/orphan/start-swarm.mjs'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(director.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toMatch(/^ready \d+/);
  const hosts = hostsOf(director.pid!);
  expect(hosts.length).toBeGreaterThanOrEqual(3); // two swarmlets and the spares
  director.kill('SIGKILL');
  await once(director, 'exit');
  // They notice the closed channel at once; give a loaded machine a few seconds.
  for (let waitedMs = 0; hosts.some(alive) && waitedMs < 10_000; waitedMs += 100)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const survivors = hosts.filter(alive);
  for (const pid of survivors) process.kill(pid, 'SIGKILL');
  expect(survivors).toEqual([]);
}, 30_000);
