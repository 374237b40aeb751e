import { Redis, type RedisOptions } from 'ioredis';
import type { Timers } from '../../core/environment.js';
import { InputError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact-url.js';
import { epochEnvironment } from '../local/wall-environment.js';

export { redactUrl };

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * PEM text for a `rediss://` connection (read from `--redis-ca`, `--redis-cert`, `--redis-key` at the edge): the CA
 * that signed the server's certificate (else the system's), and this client's certificate and key when the server
 * asks for one.
 */
export interface RedisTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** ioredis options for every connection to the cluster's Redis, BullMQ's included: TLS, when given. */
export function redisConnectionOptions(tls: RedisTls | undefined): RedisOptions {
  return tls === undefined ? {} : { tls: { ...tls } };
}

/**
 * Connects once, bounded (on `timers`), so a wrong URL or a stopped server is one clear error instead of a hang
 * (ioredis would retry forever). Later connection errors are kept quiet here: the command that
 * meets one reports it, and commands wait out a reconnect (as BullMQ's connections do).
 */
export async function connectRedis(
  url: string,
  onError: (error: Error) => void = () => undefined,
  field = '--redis',
  tls?: RedisTls,
  timers: Timers = epochEnvironment.timers,
): Promise<Redis> {
  const redis = new Redis(url, { ...redisConnectionOptions(tls), maxRetriesPerRequest: null, lazyConnect: true });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
    onError(error);
  });
  let cancel: (() => void) | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise(
        (_, reject) =>
          (cancel = timers.after(CONNECT_TIMEOUT_MS, () => reject(new Error(`no answer in ${CONNECT_TIMEOUT_MS} ms`)), {
            keepAlive: true,
          })),
      ),
    ]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new InputError(field, `cannot reach Redis at ${redactUrl(url)} (${reason})`, connectFix(reason));
  } finally {
    cancel?.();
  }
}

/** A refused password wants other credentials, not another server. */
function connectFix(reason: string): string {
  if (/NOAUTH|WRONGPASS|invalid (username|password)/i.test(reason))
    return 'give the user and password Redis expects in the URL (redis://USER:PASSWORD@host:6379), through SWARMLET_REDIS_URL or --redis-url-file so it stays out of ps';
  return 'start redis-server, or pass the URL the cluster uses, e.g. --redis redis://10.0.0.5:6379';
}
