/**
 * Where serve, agent and run find Redis (--redis, --redis-url-file, SWARMLET_REDIS_URL) and its TLS files: each error
 * names the flag, shows no password and no file content, and its fix, applied, is accepted.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { redisConnectionOf, requiredRedisConnection, type RedisFlags } from '../src/cli/redis-flags.js';
import { parseRunArguments } from '../src/cli/run-options.js';

const SECRET = 'pw-flags-0d9f3';
const URL_WITH_PASSWORD = `redis://app:${SECRET}@10.0.0.5:6379`;
const dir = mkdtempSync(join(tmpdir(), 'swarmlet-redis-flags-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, 0o600);
  return path;
};

/** The InputError the call throws (fails the test if it throws none or another kind). */
function refusal(call: () => unknown): InputError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain(SECRET);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

describe('the URL', () => {
  it('comes from --redis, else --redis-url-file, else SWARMLET_REDIS_URL; a flag wins over the variable', () => {
    const env = { SWARMLET_REDIS_URL: URL_WITH_PASSWORD };
    expect(redisConnectionOf({}, env)).toEqual({ url: URL_WITH_PASSWORD });
    expect(redisConnectionOf({ redis: 'redis://127.0.0.1:6379' }, env)).toEqual({ url: 'redis://127.0.0.1:6379' });
    const path = file('url', `${URL_WITH_PASSWORD}\n`);
    expect(redisConnectionOf({ redisUrlFile: path }, env)).toEqual({ url: URL_WITH_PASSWORD });
    expect(redisConnectionOf({}, {})).toBeUndefined(); // run: on this machine
  });

  it('none at all: serve and agent are refused with a fix that is accepted', () => {
    const error = refusal(() => requiredRedisConnection({}, {}));
    expect(error.message).toMatch(
      /^--redis: is missing .*SWARMLET_REDIS_URL.*Fix: add --redis redis:\/\/127\.0\.0\.1:6379/,
    );
    const fixed: RedisFlags = { redis: String((error.fixValue as { value: unknown }).value) };
    expect(requiredRedisConnection(fixed, {}).url).toBe('redis://127.0.0.1:6379');
  });

  it('a missing --redis-url-file names the flag and the path; writing the URL there as the fix says is accepted', () => {
    const path = join(dir, 'missing-url');
    const error = refusal(() => redisConnectionOf({ redisUrlFile: path }, {}));
    expect(error.message).toContain(`--redis-url-file: "${path}" cannot be read (ENOENT)`);
    expect(error.fix).toContain(`> ${path}; chmod 600 ${path}`);
    writeFileSync(path, 'redis://:PASSWORD@10.0.0.5:6379\n'); // the fix's own example line
    expect(redisConnectionOf({ redisUrlFile: path }, {})?.url).toBe('redis://:PASSWORD@10.0.0.5:6379');
  });

  it('--redis with --redis-url-file: one source; removing --redis as the fix says is accepted', () => {
    const flags = { redis: URL_WITH_PASSWORD, redisUrlFile: file('both', URL_WITH_PASSWORD) };
    const error = refusal(() => redisConnectionOf(flags, {}));
    expect(error.field).toBe('--redis');
    expect(error.fixValue).toBe('remove');
    expect(redisConnectionOf({ redisUrlFile: flags.redisUrlFile }, {})?.url).toBe(URL_WITH_PASSWORD);
  });

  it.each([
    ['SWARMLET_REDIS_URL', {}, { SWARMLET_REDIS_URL: `http://app:${SECRET}@host:6379` }],
    ['--redis', { redis: `redis://app:${SECRET}@` }, {}],
    ['--redis-url-file', { redisUrlFile: file('bad-url', `redis:/app:${SECRET}@host`) }, {}],
    ['--redis-url-file', { redisUrlFile: file('two-lines', `${URL_WITH_PASSWORD}\n${URL_WITH_PASSWORD}\n`) }, {}],
  ])('a bad URL from %s is refused naming its source, its password hidden', (source, flags, env) => {
    const error = refusal(() => redisConnectionOf(flags, env));
    expect(error.field.startsWith(source)).toBe(true);
  });

  it('a bad --redis gets a fix value that is accepted', () => {
    const error = refusal(() => redisConnectionOf({ redis: '10.0.0.5:6379' }, {}));
    expect(error.message).toContain('"10.0.0.5:6379" is not a redis:// or rediss:// URL');
    expect(redisConnectionOf({ redis: String((error.fixValue as { value: unknown }).value) }, {})).toBeDefined();
  });
});

describe('TLS files', () => {
  const pem = (kind: string) => `-----BEGIN ${kind}-----\nTUlJQ-${SECRET}\n-----END ${kind}-----\n`;
  const ca = file('ca.crt', pem('CERTIFICATE'));
  const cert = file('client.crt', pem('CERTIFICATE'));
  const key = file('client.key', pem('PRIVATE KEY'));

  it('are read as PEM text for a rediss:// URL', () => {
    const connection = redisConnectionOf({ redis: 'rediss://h:6380', redisCa: ca, redisCert: cert, redisKey: key }, {});
    expect(connection).toEqual({
      url: 'rediss://h:6380',
      tls: { ca: pem('CERTIFICATE'), cert: pem('CERTIFICATE'), key: pem('PRIVATE KEY') },
    });
  });

  it('with a redis:// URL are refused (TLS needs rediss://); removing the flag is accepted', () => {
    const error = refusal(() => redisConnectionOf({ redis: URL_WITH_PASSWORD, redisCa: ca }, {}));
    expect(error.message).toMatch(
      /^--redis-ca: is for TLS, and "redis:\/\/app:\*\*\*@10\.0\.0\.5:6379" is not a rediss:\/\/ URL/,
    );
    expect(error.fixValue).toBe('remove');
    expect(redisConnectionOf({ redis: URL_WITH_PASSWORD }, {})).toBeDefined();
  });

  it('a certificate without its key (or a key without its certificate) names the missing flag', () => {
    expect(refusal(() => redisConnectionOf({ redis: 'rediss://h', redisCert: cert }, {})).field).toBe('--redis-key');
    expect(refusal(() => redisConnectionOf({ redis: 'rediss://h', redisKey: key }, {})).field).toBe('--redis-cert');
  });

  it('an unreadable or non-PEM file is refused by its path; its content is never shown', () => {
    const missing = refusal(() => redisConnectionOf({ redis: 'rediss://h', redisCa: join(dir, 'nope.crt') }, {}));
    expect(missing.message).toContain('cannot be read (ENOENT)');
    const swapped = refusal(() => redisConnectionOf({ redis: 'rediss://h', redisCert: key, redisKey: cert }, {}));
    expect(swapped.message).toContain(`--redis-cert: "${key}" is not a PEM certificate`);
    expect(swapped.message).not.toContain('TUlJQ');
  });

  it('without any URL are refused with the URL to add', () => {
    expect(refusal(() => redisConnectionOf({ redisCa: ca }, {})).field).toBe('--redis-ca');
  });
});

describe('swarmlet run', () => {
  it('runs on the cluster when SWARMLET_REDIS_URL is set, so --job-key is accepted without --redis', async () => {
    process.env.SWARMLET_REDIS_URL = URL_WITH_PASSWORD;
    try {
      const plan = await parseRunArguments(['examples/merge-sort', '--job-key', 'nightly-1', '--no-history']);
      expect(plan.redis).toEqual({ url: URL_WITH_PASSWORD });
    } finally {
      delete process.env.SWARMLET_REDIS_URL;
    }
    const embedded = await parseRunArguments(['examples/merge-sort', '--no-history']);
    expect(embedded.redis).toBeUndefined();
  });
});
