/**
 * The cluster on a Redis that wants a password: the URL's password is never printed (serve, agent, run).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { spawnCli, waitFor, type Child } from './support/cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

const PASSWORD = 'pw-7b1e9c-requirepass';
let server: RedisServer;
let children: Child[] = [];

beforeAll(async () => {
  server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
});
afterEach(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  children = [];
});
afterAll(() => server.stop());

const withPassword = (url: string) => url.replace('://', `://:${PASSWORD}@`);

it('serve --redis with a password in the URL starts and never prints the password', async () => {
  const serve = spawnCli(['serve', '--redis', withPassword(server.url), '--tick-ms', '100']);
  children.push(serve);
  await waitFor('the director to start', () => /director up on/.test(serve.output()));
  expect(serve.output()).toContain(`redis://:***@127.0.0.1:${server.port}`);
  expect(serve.output()).not.toContain(PASSWORD);
});
