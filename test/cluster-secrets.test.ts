/**
 * The cluster on a Redis with a password, an ACL user limited to the prefix, and TLS (certificates made with openssl
 * here): serve, agent and run connect, the job runs, and the password (and key material) appears in no log line, no
 * Redis key or value, no cache file and not in a swarmlet's own environment.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from './support/cluster.js';
import { startRedisServer, type RedisServer, type TlsFiles } from './support/redis-server.js';
import { SIGN_ARGS, TRUST_ARGS } from './support/signing.js';

const PASSWORD = 'pw-secret-5c0ffee-acl';
/** What the Redis ACL user of a cluster on prefix `swarmlet` needs (README, "Redis users, passwords and TLS"). */
export const ACL_RULES = [
  'resetkeys',
  '~swarmlet:*',
  'resetchannels',
  '&swarmlet:*',
  '-@all',
  '+@read',
  '+@write',
  '+@scripting',
  '+@pubsub',
  '+@connection',
  '+@transaction',
  '-@dangerous',
  '+info',
  '+client|setname',
  '+client|getname',
];

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

/** A CLI process with exactly this environment (no inherited secrets), its output kept. */
function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['dist/cli.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  stops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { output: () => output };
}

async function server(options: Parameters<typeof startRedisServer>[0]): Promise<RedisServer> {
  const started = await startRedisServer({ ...options, args: ['--rdbcompression', 'no', ...(options?.args ?? [])] });
  stops.push(() => started.stop());
  return started;
}

const withUser = (url: string, user: string) => url.replace('://', `://${user}:${PASSWORD}@`);

/**
 * Director and agent, then `run` of a job whose micro-task returns its swarmlet's environment; returns every log
 * line, the job's output and the directories written.
 */
async function runCluster(connection: { env: Record<string, string>; args: string[] }) {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-secrets-'));
  const serve = cli(['serve', '--tick-ms', '100', ...connection.args], connection.env);
  const agent = cli(
    ['agent', '--node-id', 'a1', '--cache-dir', join(dir, 'agent-cache'), ...TRUST_ARGS, ...connection.args],
    connection.env,
  );
  await waitFor(
    'the director and the agent',
    () => /director up/.test(serve.output()) && /joined/.test(agent.output()),
  );
  const run = spawnSync(
    process.execPath,
    ['dist/cli.js', 'run', 'test/fixtures/jobs/env-report', '--json', '--no-progress', '--no-history'].concat([
      '--cache-dir',
      join(dir, 'client-cache'),
      ...SIGN_ARGS,
      ...connection.args,
    ]),
    { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...connection.env } },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const result = JSON.parse(run.stdout) as { status: string; output: Record<string, string> };
  expect(result.status).toBe('done');
  expect(result.output.__program).toMatch(/swarmlet-host\.js$/); // it is a swarmlet's environment
  return { logs: [serve.output(), agent.output(), run.stdout, run.stderr], swarmletEnv: result.output, dir };
}

/** Every key and its DUMP (uncompressed: the server runs with rdbcompression no), read as text. */
async function everyKeyAndValue(redis: Redis): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) found.push(key, (await redis.dumpBuffer(key))?.toString('latin1') ?? '');
  } while (cursor !== '0');
  return found;
}

function everyFile(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => `${path}\n${readFileSync(path, 'latin1')}`);
}

/** Hits of each secret in each place: all zero is the target. */
async function secretHits(secrets: string[], ran: Awaited<ReturnType<typeof runCluster>>, redis: Redis) {
  const places = {
    logLines: ran.logs.join('\n').split('\n'),
    redis: await everyKeyAndValue(redis),
    cacheFiles: everyFile(ran.dir),
    swarmletEnv: Object.entries(ran.swarmletEnv).map(([name, value]) => `${name}=${value}`),
  };
  const count = (texts: string[]) => texts.filter((text) => secrets.some((secret) => text.includes(secret))).length;
  return {
    searched: Object.fromEntries(Object.entries(places).map(([place, texts]) => [place, texts.length])),
    hits: Object.fromEntries(Object.entries(places).map(([place, texts]) => [place, count(texts)])),
  };
}

const ZERO = { logLines: 0, redis: 0, cacheFiles: 0, swarmletEnv: 0 };

it('requirepass: serve, agent and run connect through SWARMLET_REDIS_URL and the password is found nowhere', async () => {
  const redisServer = await server({ args: ['--requirepass', PASSWORD] });
  const url = withUser(redisServer.url, '');
  const ran = await runCluster({ env: { SWARMLET_REDIS_URL: url }, args: [] });
  const redis = new Redis(url);
  stops.push(async () => redis.disconnect());
  const { searched, hits } = await secretHits([PASSWORD], ran, redis);
  console.log('requirepass: searched', searched, 'hits', hits);
  expect(searched.redis).toBeGreaterThan(10);
  expect(hits).toEqual(ZERO);
}, 90_000);

it('an ACL user limited to the prefix runs the cluster through --redis-url-file, and cannot read a key outside it', async () => {
  const user = ['--user', 'default', 'off', '--user', 'swarmlet', 'on', `>${PASSWORD}`, ...ACL_RULES];
  const redisServer = await server({ args: user });
  const url = withUser(redisServer.url, 'swarmlet');
  const file = join(mkdtempSync(join(tmpdir(), 'swarmlet-url-')), 'redis-url');
  writeFileSync(file, `${url}\n`, { mode: 0o600 });
  const ran = await runCluster({ env: {}, args: ['--redis-url-file', file] });
  const redis = new Redis(url);
  stops.push(async () => redis.disconnect());
  await expect(redis.get('other:secret')).rejects.toThrow(/NOPERM/);
  await expect(redis.set('other:secret', 'x')).rejects.toThrow(/NOPERM/);
  await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
  const { searched, hits } = await secretHits([PASSWORD], ran, redis);
  console.log('acl: searched', searched, 'hits', hits);
  expect(hits).toEqual(ZERO);
}, 90_000);

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl now. */
function certificates(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=swarmlet-test-ca',
  );
  for (const [name, extra] of [
    ['server', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    );
    writeFileSync(at(`${name}.ext`), `${extra}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at(`${name}.crt`),
      '-days',
      '1',
      '-extfile',
      at(`${name}.ext`),
    );
  }
  return {
    certFile: at('server.crt'),
    keyFile: at('server.key'),
    caFile: at('ca.crt'),
    clientCertFile: at('client.crt'),
    clientKeyFile: at('client.key'),
  };
}

it('TLS (rediss://, a client certificate) with a password: the cluster runs; no password or key material anywhere', async () => {
  const tls = certificates();
  const redisServer = await server({ tls, args: ['--requirepass', PASSWORD] });
  expect(redisServer.url).toMatch(/^rediss:/);
  const url = withUser(redisServer.url, '');
  const tlsArgs = ['--redis-ca', tls.caFile, '--redis-cert', tls.clientCertFile, '--redis-key', tls.clientKeyFile];
  const ran = await runCluster({ env: { SWARMLET_REDIS_URL: url }, args: tlsArgs });
  const redis = new Redis(url, {
    tls: { ca: readFileSync(tls.caFile), cert: readFileSync(tls.clientCertFile), key: readFileSync(tls.clientKeyFile) },
  });
  stops.push(async () => redis.disconnect());
  // A line of the private key's base64 stands for all of it.
  const keyLine = readFileSync(tls.clientKeyFile, 'utf8').split('\n')[5]!;
  const { searched, hits } = await secretHits([PASSWORD, keyLine], ran, redis);
  console.log('tls: searched', searched, 'hits', hits);
  expect(hits).toEqual(ZERO);
  // Without the client certificate the server refuses the connection: TLS really is on.
  const refused = spawnSync(process.execPath, ['dist/cli.js', 'serve', '--redis-ca', tls.caFile], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '', SWARMLET_REDIS_URL: url },
  });
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/^swarmlet: --redis: cannot reach Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1/);
  expect(refused.stderr).not.toContain(PASSWORD);
}, 120_000);
