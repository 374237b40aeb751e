/**
 * Tools for tests of stops that race work under way: hold one call at its start until the test lets it go, and see
 * what is sent on a Redis connection after its QUIT (Redis resets a connection that writes behind a QUIT, which can
 * drop QUIT's own reply: the quit then fails with "Connection is closed.").
 */
import { Redis } from 'ioredis';
import { vi } from 'vitest';

export interface Hold {
  /** Settles once the next call has begun (and waits). */
  readonly held: Promise<void>;
  release(): void;
  restore(): void;
}

/** The next call of `target[method]` (on any instance, for a prototype) waits for `release`, then runs. */
export function holdNextCall<T extends object>(target: T, method: keyof T & string): Hold {
  const original = target[method] as (...args: unknown[]) => unknown;
  let entered!: () => void;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let armed = true;
  const spy = vi
    .spyOn(target as Record<string, (...args: unknown[]) => unknown>, method)
    .mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (armed) {
        armed = false;
        entered();
        await gate;
      }
      return original.apply(this, args);
    });
  return { held, release, restore: () => spy.mockRestore() };
}

/** Records the name of every command sent on an ioredis connection after its QUIT, until `restore`. */
export function commandsAfterQuit(): { readonly late: string[]; restore(): void } {
  type Send = (this: Redis, command: { name: string }, ...rest: unknown[]) => unknown;
  const send = Redis.prototype.sendCommand as unknown as Send;
  const quitted = new WeakSet<Redis>();
  const late: string[] = [];
  const spy = vi.spyOn(Redis.prototype, 'sendCommand').mockImplementation(function (this: Redis, ...args: unknown[]) {
    const command = args[0] as { name: string };
    if (quitted.has(this)) late.push(command.name);
    if (command.name === 'quit') quitted.add(this);
    return send.call(this, command, ...args.slice(1)) as ReturnType<Redis['sendCommand']>;
  });
  return { late, restore: () => spy.mockRestore() };
}

/** Whether `work` ends within `ms`: used where the right outcome is that it does not (it waits for a held call). */
export function endsWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}
