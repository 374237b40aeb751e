import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InputError } from '../../core/errors.js';

/** Renews the lease only while this instance still holds it (a GET and a PEXPIRE in one step). */
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const POLL_MS = 100;

/**
 * One director at a time per prefix: a lease key (SET NX PX) renewed every tick. A second
 * director waits for the lease (a crashed one's expires within `leaseMs`) and gives up with a
 * clear error if a live director keeps it. A director that loses its lease stops acting.
 */
export class DirectorLease {
  readonly instanceId = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly leaseMs: number,
  ) {}

  /** Waits up to `waitMs` for the lease; tells `waiting` once if another director holds it. */
  async acquire(waitMs: number, waiting: (holder: string) => void): Promise<void> {
    const deadline = Date.now() + waitMs;
    let told = false;
    for (;;) {
      if ((await this.redis.set(this.key, this.instanceId, 'PX', this.leaseMs, 'NX')) === 'OK') return;
      const holder = (await this.redis.get(this.key)) ?? 'unknown';
      if (!told) waiting(holder);
      told = true;
      if (Date.now() > deadline) {
        throw new InputError('--prefix', `another director (${holder}) is running on this Redis with this prefix`, 'stop it first (one director per prefix), or give this one another --prefix');
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** True while this instance holds the lease (and extends it). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.instanceId, String(this.leaseMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.instanceId);
  }
}
