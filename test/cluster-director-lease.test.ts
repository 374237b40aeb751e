/** The director lease on a real redis-server: taken once, lost to another, taken back after a pause. */
import { expect, it } from 'vitest';
import { DirectorLease } from '../src/runtime/cluster/director-lease.js';
import { realCluster } from './support/cluster.js';

const cluster = realCluster();

const never = (): void => {
  throw new Error('the lease was free: nobody should be waited for');
};

it('a holder renews its lease; a second instance cannot take it while it lives', async () => {
  const first = new DirectorLease(cluster.redis(), 'live:director', 1_000);
  await first.acquire(0, never);
  expect(await first.renew()).toBe(true);
  const second = new DirectorLease(cluster.redis(), 'live:director', 1_000);
  await expect(second.acquire(150, () => undefined)).rejects.toThrow(/another director .* is running/);
  expect(await second.renew()).toBe(false);
  expect(await cluster.redis().get('live:director')).toBe(first.instanceId);
});

it('a lease that expired while its holder was paused is taken back when nobody took it meanwhile', async () => {
  const lease = new DirectorLease(cluster.redis(), 'paused:director', 1_000);
  await lease.acquire(0, never);
  await cluster.redis().del('paused:director'); // the key expired during a pause longer than the lease
  expect(await lease.renew()).toBe(true);
  expect(await cluster.redis().get('paused:director')).toBe(lease.instanceId);
  expect(await cluster.redis().pttl('paused:director')).toBeGreaterThan(0);
});

it('a lease another director held in between is lost for good, even once that one released it', async () => {
  const first = new DirectorLease(cluster.redis(), 'between:director', 1_000);
  await first.acquire(0, never);
  await cluster.redis().del('between:director');
  const second = new DirectorLease(cluster.redis(), 'between:director', 1_000);
  await second.acquire(0, never);
  await second.release(); // it acted (applied the log, maybe trimmed it) and stopped
  expect(await first.renew()).toBe(false);
  expect(await cluster.redis().exists('between:director')).toBe(0);
});

it('garbage in the lease while its holder lives is replaced by the holder, said once through warn', async () => {
  const warnings: string[] = [];
  const lease = new DirectorLease(cluster.redis(), 'garbled:director', 1_000, (key, line) => warnings.push(line));
  await lease.acquire(0, never);
  await cluster.redis().set('garbled:director', 'x'.repeat(500)); // no expiry, not an instance id
  expect(await lease.renew()).toBe(true);
  expect(await cluster.redis().get('garbled:director')).toBe(lease.instanceId);
  expect(warnings).toEqual([expect.stringMatching(/^garbled:director held "x{60}", not this director's lease/)]);
  await cluster.redis().set('garbled:director:epoch', 'junk');
  expect(await lease.renew()).toBe(true); // the holder puts its epoch back: nobody else could have taken the lease
  expect(await cluster.redis().get('garbled:director:epoch')).toBe('1');
});

it('an epoch garbled and repaired by a new director is never mistaken by a paused holder for its own', async () => {
  const first = new DirectorLease(cluster.redis(), 'epoch:director', 1_000);
  await first.acquire(0, never);
  await cluster.redis().del('epoch:director'); // first paused past its lease…
  await cluster.redis().set('epoch:director:epoch', 'junk'); // …and someone garbled the epoch
  const warnings: string[] = [];
  const second = new DirectorLease(cluster.redis(), 'epoch:director', 1_000, (key, line) => warnings.push(line));
  await second.acquire(0, never);
  expect(warnings).toEqual([expect.stringMatching(/^epoch:director:epoch held "junk", not a count of lease takings/)]);
  expect(Number(await cluster.redis().get('epoch:director:epoch'))).toBeGreaterThan(1e15); // restarted from the time in µs
  expect(await first.renew()).toBe(false);
  expect(await second.renew()).toBe(true);
});
