/**
 * Swarmlets get an explicit, minimal environment: a secret in the parent's environment (a Redis URL
 * with its password, a token) never reaches task code.
 */
import { afterEach, expect, it } from 'vitest';
import { Swarm } from '../src/swarm.js';

const SECRET = 'hunter2-env-secret';
const planted = ['SWARMLET_REDIS_URL', 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS_PLANTED'];

afterEach(() => planted.forEach((name) => delete process.env[name]));

it("a swarmlet's process.env holds only the variables it is given, none of the parent's secrets", async () => {
  process.env.SWARMLET_REDIS_URL = `redis://:${SECRET}@127.0.0.1:6379`;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  process.env.NODE_OPTIONS_PLANTED = SECRET;
  const swarm = await Swarm.start({ tasks: ['test/fixtures/env-report.task.ts'], maxSwarmlets: 1 });
  try {
    const env = (await swarm.run({ type: 'env-report', input: null })) as Record<string, string>;
    expect(JSON.stringify(env)).not.toContain(SECRET);
    const allowed = new Set(['PATH', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'NODE_EXTRA_CA_CERTS', '__program']);
    expect(env.HOME).toBeUndefined();
    expect(Object.keys(env).filter((name) => !allowed.has(name))).toEqual([]);
    expect(env.__program).toMatch(/swarmlet-host\.js$/); // it ran in a swarmlet
    // The host's own settings (its black box above all) are read at start and hidden from task code.
    expect(Object.keys(env).filter((name) => name.startsWith('SWARMLET_'))).toEqual([]);
    if (process.env.PATH !== undefined) expect(env.PATH).toBe(process.env.PATH);
  } finally {
    await swarm.stop();
  }
}, 30_000);
