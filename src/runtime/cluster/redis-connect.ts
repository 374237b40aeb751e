import { Redis } from 'ioredis';
import { InputError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact-url.js';

export { redactUrl };

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connects once, bounded, so a wrong URL or a stopped server is one clear error instead of a hang
 * (ioredis would retry forever). Later connection errors are kept quiet here: the command that
 * meets one reports it, and commands wait out a reconnect (as BullMQ's connections do).
 */
export async function connectRedis(
  url: string,
  onError: (error: Error) => void = () => undefined,
  field = '--redis',
): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
    onError(error);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`no answer in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS)),
      ),
    ]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new InputError(
      field,
      `cannot reach Redis at ${redactUrl(url)} (${reason})`,
      'start redis-server, or pass the URL the cluster uses, e.g. --redis redis://10.0.0.5:6379',
    );
  } finally {
    clearTimeout(timer);
  }
}
