import { randomUUID } from 'node:crypto';
import { sleep, type Environment } from '../../core/environment.js';
import { epochEnvironment } from '../local/wall-environment.js';
import type { Redis } from 'ioredis';
import { InputError } from '../../core/errors.js';

/** What a director writes in its lease key: its instance id (a UUID), always with an expiry. */
const DIRECTOR_ID = '^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$';
/** GET that never fails: a key of another Redis type reads as a description of it (garbage, never an id or a count). */
const READ = `
local function read(key)
  local value = redis.pcall('GET', key)
  if type(value) == 'table' then return '(a ' .. redis.call('TYPE', key)['ok'] .. ')' end
  return value
end`;
/**
 * Takes the lease if free and counts the taking in `<key>:epoch`, in one step: the epoch tells a
 * holder whether anyone else held the lease since it took it. A lease value no director wrote (not
 * an instance id, or with no expiry) is garbage and removed first; so is an epoch that is not a
 * whole number (INCR would fail on it). A removed epoch restarts from the server's time in
 * microseconds, above any count taken before, so a paused holder never mistakes it for its own.
 * Returns { epoch (0: not taken), the removed lease value or '', the removed epoch or '' }.
 */
const ACQUIRE = `${READ}
local removed = {'', ''}
local holder = read(KEYS[1])
if holder and (not string.match(holder, '${DIRECTOR_ID}') or redis.call('PTTL', KEYS[1]) < 0) then
  redis.call('DEL', KEYS[1]) removed[1] = holder
end
local epoch = read(KEYS[2])
if epoch and not string.match(epoch, '^%d+$') then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.format('%06d', tonumber(now[2]))) removed[2] = epoch
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {redis.call('INCR', KEYS[2]), removed[1], removed[2]} end
return {0, removed[1], removed[2]}`;
/**
 * Extends the lease while this instance holds it (1), and puts back its epoch if garbage replaced it
 * (only this holder could have taken the lease since). While the epoch is still this instance's, no
 * other director took the lease since: a lease that expired during a pause (GC, a suspended VM, a
 * clock jump) is taken back (2), and a lease value some Redis user overwrote is garbage, replaced (3).
 * Otherwise lost (0). Returns { code, the replaced value or '' }.
 */
const RENEW = `${READ}
local holder = read(KEYS[1])
local epoch = read(KEYS[2])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if epoch ~= ARGV[3] and not (epoch and string.match(epoch, '^%d+$')) then redis.call('SET', KEYS[2], ARGV[3]) return {1, epoch or ''} end
  return {1, ''}
end
if epoch ~= ARGV[3] then return {0, ''} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if holder == false then return {2, ''} end
return {3, holder}`;
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const POLL_MS = 100;
const SHOWN_CHARS = 60;

const DIRECTOR_ID_JS = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether a live director holds the lease at `key`; if not, why (for a client waiting on the log):
 * the key is free, or holds what no director writes (an instance id with an expiry).
 */
export async function directorAbsence(redis: Redis, key: string): Promise<string | undefined> {
  const [[error, holder], [, pttlMs]] = (await redis.multi().get(key).pttl(key).exec()) as [
    [Error | null, string | null],
    [Error | null, number],
  ];
  if (error !== null) return `${key} holds another Redis type, not a director's lease`;
  if (holder === null) return `${key} is free`;
  if (!DIRECTOR_ID_JS.test(holder) || pttlMs < 0) return `${key} holds ${shown(holder)}, not a director's lease`;
  return undefined;
}

/** A value found in Redis, quoted and cut short for a log line. */
export const shown = (value: string): string => JSON.stringify(value.slice(0, SHOWN_CHARS));

/**
 * One director at a time per prefix: a lease key (SET NX PX) renewed every tick. A second
 * director waits for the lease (a crashed one's expires within `leaseMs`) and gives up with a
 * clear error if a live director keeps it. A director that loses its lease to another stops acting.
 * Garbage some Redis user wrote in the lease or its epoch is repaired, and said through `warn`
 * (with the key as its topic): it never makes a director step down or wait for nobody.
 */
export class DirectorLease {
  readonly instanceId = randomUUID();
  private epoch = '';

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly leaseMs: number,
    private readonly warn: (key: string, line: string) => void = () => undefined,
    private readonly environment: Environment = epochEnvironment,
  ) {}

  /** Waits up to `waitMs` for the lease; tells `waiting` once if another director holds it. */
  async acquire(waitMs: number, waiting: (holder: string) => void): Promise<void> {
    const deadline = this.environment.clock.nowMs() + waitMs;
    let told = false;
    for (;;) {
      const [epoch, holder, epochBefore] = (await this.redis.eval(
        ACQUIRE,
        2,
        this.key,
        this.epochKey,
        this.instanceId,
        String(this.leaseMs),
      )) as [number, string, string];
      if (holder !== '') this.repaired(this.key, holder, "not a director's lease (an instance id with an expiry)");
      if (epochBefore !== '') this.repaired(this.epochKey, epochBefore, 'not a count of lease takings');
      if (epoch !== 0) {
        this.epoch = String(epoch);
        return;
      }
      const other = (await this.redis.get(this.key)) ?? 'unknown';
      if (!told) waiting(other);
      told = true;
      if (this.environment.clock.nowMs() > deadline) {
        throw new InputError(
          '--prefix',
          `another director (${other}) is running on this Redis with this prefix`,
          'stop it first (one director per prefix), or give this one another --prefix',
        );
      }
      await sleep(this.environment.timers, POLL_MS);
    }
  }

  /** True while this instance holds the lease (and extends it), took its expired lease back, or repaired it. */
  async renew(): Promise<boolean> {
    const [code, replaced] = (await this.redis.eval(
      RENEW,
      2,
      this.key,
      this.epochKey,
      this.instanceId,
      String(this.leaseMs),
      this.epoch,
    )) as [number, string];
    if (code === 1 && replaced !== '') this.repaired(this.epochKey, replaced, 'not a count of lease takings');
    if (code === 3)
      this.repaired(this.key, replaced, "not this director's lease (no other director took it since this one did)");
    return code !== 0;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.instanceId);
  }

  private repaired(key: string, value: string, why: string): void {
    this.warn(
      key,
      `${key} held ${shown(value)}, ${why}: taken back. Fix: leave ${key} to the director (one per prefix); stop whatever writes it`,
    );
  }

  private get epochKey(): string {
    return `${this.key}:epoch`;
  }
}
