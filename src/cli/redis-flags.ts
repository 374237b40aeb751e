/**
 * Where `serve`, `agent` and `run` find the cluster's Redis: `--redis URL`, `--redis-url-file FILE` or the environment
 * variable SWARMLET_REDIS_URL (a flag wins over the variable), and for `rediss://` the PEM files of `--redis-ca`,
 * `--redis-cert` and `--redis-key`. A password on the command line is visible to every user in `ps`; the variable and
 * the file are not. Checked here, at the edge: every error names its flag, shows the URL without its password and
 * never shows a file's content.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { redactUrl } from '../core/redact-url.js';
import type { RedisTls } from '../runtime/cluster/redis-connect.js';

export const REDIS_URL_ENV = 'SWARMLET_REDIS_URL';
const EXAMPLE_URL = 'redis://127.0.0.1:6379';

/** The flags as commander hands them over. */
export interface RedisFlags {
  readonly redis?: string;
  readonly redisUrlFile?: string;
  readonly redisCa?: string;
  readonly redisCert?: string;
  readonly redisKey?: string;
}

/** The URL (with its credentials: never print it, see redactUrl) and, for rediss://, the PEM text. */
export interface RedisConnection {
  readonly url: string;
  readonly tls?: RedisTls;
}

/** Adds the four flags beside `--redis` (each command words `--redis` itself). */
export function addRedisSourceFlags(command: Command): Command {
  return command
    .option(
      '--redis-url-file <file>',
      `read the Redis URL from this file (one line; chmod 600), or set ${REDIS_URL_ENV}`,
    )
    .option('--redis-ca <file>', "with rediss://: the CA certificate (PEM) that signed the server's")
    .option('--redis-cert <file>', "with rediss://: this client's certificate (PEM), for a server that asks for one")
    .option('--redis-key <file>', 'with rediss://: the private key (PEM) of --redis-cert');
}

/** The connection the flags or the environment give, or undefined when none gives a URL (embedded `run`). */
export function redisConnectionOf(
  flags: RedisFlags,
  env: NodeJS.ProcessEnv = process.env,
): RedisConnection | undefined {
  const source = urlSource(flags, env);
  if (source === undefined) {
    const tlsFlag = TLS_FLAGS.find(({ option }) => flags[option] !== undefined);
    if (tlsFlag) throw new InputError(tlsFlag.flag, 'needs a rediss:// URL and none is given', missingUrlFix, 'remove');
    return undefined;
  }
  const url = checkedUrl(source);
  const tls = tlsOf(flags, url);
  return tls === undefined ? { url } : { url, tls };
}

/** As redisConnectionOf, for the commands that cannot run without Redis (`serve`, `agent`). */
export function requiredRedisConnection(flags: RedisFlags, env: NodeJS.ProcessEnv = process.env): RedisConnection {
  const connection = redisConnectionOf(flags, env);
  if (connection !== undefined) return connection;
  throw new InputError('--redis', `is missing (and so are --redis-url-file and ${REDIS_URL_ENV})`, missingUrlFix, {
    value: EXAMPLE_URL,
  });
}

const missingUrlFix = `add --redis ${EXAMPLE_URL} (with a password: set ${REDIS_URL_ENV} or pass --redis-url-file FILE)`;

interface UrlSource {
  readonly field: string;
  readonly text: string;
  readonly fix: string;
}

function urlSource(flags: RedisFlags, env: NodeJS.ProcessEnv): UrlSource | undefined {
  if (flags.redis !== undefined && flags.redisUrlFile !== undefined)
    throw new InputError(
      '--redis',
      'and --redis-url-file both give the URL',
      'remove --redis (the file keeps the password out of ps)',
      'remove',
    );
  if (flags.redis !== undefined) return { field: '--redis', text: flags.redis, fix: `write --redis ${EXAMPLE_URL}` };
  if (flags.redisUrlFile !== undefined) return fileSource(flags.redisUrlFile);
  const fromEnv = env[REDIS_URL_ENV];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  return { field: REDIS_URL_ENV, text: fromEnv, fix: `set ${REDIS_URL_ENV}=redis://:PASSWORD@10.0.0.5:6379` };
}

function fileSource(path: string): UrlSource {
  const fix = `write the URL as one line into ${path}, e.g. printf '%s\\n' 'redis://:PASSWORD@10.0.0.5:6379' > ${path}; chmod 600 ${path}`;
  const text = readText('--redis-url-file', path, fix);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== 1)
    throw new InputError('--redis-url-file', `"${path}" holds ${lines.length} non-empty lines, not one URL`, fix);
  return { field: `--redis-url-file ${path}`, text: lines[0]!, fix };
}

const redisUrlSchema = z
  .string()
  .trim()
  .refine((text) => {
    if (/\s/.test(text)) return false;
    try {
      const url = new URL(text);
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
    } catch {
      return false;
    }
  });

function checkedUrl(source: UrlSource): string {
  const parsed = redisUrlSchema.safeParse(source.text);
  if (parsed.success) return parsed.data;
  const shown = JSON.stringify(redactUrl(source.text.trim()));
  throw new InputError(
    source.field,
    `${shown} is not a redis:// or rediss:// URL with a host`,
    source.fix,
    source.field === '--redis' ? { value: EXAMPLE_URL } : undefined,
  );
}

const TLS_FLAGS = [
  { option: 'redisCa', flag: '--redis-ca', pem: 'CERTIFICATE' },
  { option: 'redisCert', flag: '--redis-cert', pem: 'CERTIFICATE' },
  { option: 'redisKey', flag: '--redis-key', pem: 'PRIVATE KEY' },
] as const;

function tlsOf(flags: RedisFlags, url: string): RedisTls | undefined {
  const given = TLS_FLAGS.filter(({ option }) => flags[option] !== undefined);
  if (given.length === 0) return undefined;
  if (!url.startsWith('rediss://'))
    throw new InputError(
      given[0]!.flag,
      `is for TLS, and ${JSON.stringify(redactUrl(url))} is not a rediss:// URL`,
      `give the rediss:// URL of the server's TLS port (or remove ${given[0]!.flag})`,
      'remove',
    );
  if ((flags.redisCert === undefined) !== (flags.redisKey === undefined)) {
    const [missing, present] =
      flags.redisCert === undefined ? ['--redis-cert', '--redis-key'] : ['--redis-key', '--redis-cert'];
    throw new InputError(
      missing,
      `is missing: ${present} needs it`,
      `add ${missing} FILE (the other half of the pair), or remove ${present}`,
    );
  }
  return Object.fromEntries(
    given.map(({ option, flag, pem }) => [
      option.slice('redis'.length).toLowerCase(),
      pemText(flag, flags[option]!, pem),
    ]),
  );
}

/** A PEM file's text; only its path is ever shown. */
function pemText(flag: string, path: string, kind: string): string {
  const fix = `give the path of a PEM file (its first line -----BEGIN ${kind}-----), e.g. ${flag} /etc/swarmlet/redis-${kind === 'PRIVATE KEY' ? 'client.key' : 'ca.crt'}`;
  const text = readText(flag, path, fix);
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text))
    throw new InputError(flag, `"${path}" is not a PEM ${kind.toLowerCase()}`, fix);
  return text;
}

function readText(flag: string, path: string, fix: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(flag, `"${path}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, fix);
  }
}
