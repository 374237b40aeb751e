import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InputError } from '../../core/errors.js';

/**
 * Takes the lease if free and counts the taking in `<key>:epoch`, in one step: the epoch tells a
 * holder whether anyone else held the lease since it took it.
 */
const ACQUIRE =
  "if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return redis.call('INCR', KEYS[2]) else return 0 end";
/**
 * Extends the lease while this instance holds it (1). A lease that expired while its holder was
 * paused (GC, a suspended VM, a clock jump) is taken back if nobody took it meanwhile: the epoch is
 * still this instance's, so no other director acted in between (2). Otherwise lost (0).
 */
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder == false and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`;
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const POLL_MS = 100;

/**
 * One director at a time per prefix: a lease key (SET NX PX) renewed every tick. A second
 * director waits for the lease (a crashed one's expires within `leaseMs`) and gives up with a
 * clear error if a live director keeps it. A director that loses its lease to another stops acting.
 */
export class DirectorLease {
  readonly instanceId = randomUUID();
  private epoch = '';

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
      const epoch = await this.redis.eval(ACQUIRE, 2, this.key, this.epochKey, this.instanceId, String(this.leaseMs));
      if (epoch !== 0) {
        this.epoch = String(epoch);
        return;
      }
      const holder = (await this.redis.get(this.key)) ?? 'unknown';
      if (!told) waiting(holder);
      told = true;
      if (Date.now() > deadline) {
        throw new InputError(
          '--prefix',
          `another director (${holder}) is running on this Redis with this prefix`,
          'stop it first (one director per prefix), or give this one another --prefix',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** True while this instance holds the lease (and extends it), or took its expired lease back. */
  async renew(): Promise<boolean> {
    return (
      (await this.redis.eval(RENEW, 2, this.key, this.epochKey, this.instanceId, String(this.leaseMs), this.epoch)) !==
      0
    );
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.instanceId);
  }

  private get epochKey(): string {
    return `${this.key}:epoch`;
  }
}
