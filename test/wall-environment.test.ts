import { afterEach, expect, it, vi } from 'vitest';
import { epochEnvironment, wallEnvironment } from '../src/runtime/local/wall-environment.js';

afterEach(() => vi.restoreAllMocks());

/** The Node timer behind the last `after`, set for a minute and cancelled at once. */
function lastTimer(set: () => () => void): NodeJS.Timeout {
  const spy = vi.spyOn(globalThis, 'setTimeout');
  set()();
  return spy.mock.results.at(-1)!.value as NodeJS.Timeout;
}

it("the real world's timers never keep the process alive on their own, unless asked to (a wait that may be all that is left)", () => {
  for (const { timers } of [wallEnvironment, epochEnvironment]) {
    expect(lastTimer(() => timers.after(60_000, () => undefined)).hasRef()).toBe(false);
    expect(lastTimer(() => timers.after(60_000, () => undefined, { keepAlive: false })).hasRef()).toBe(false);
    expect(lastTimer(() => timers.after(60_000, () => undefined, { keepAlive: true })).hasRef()).toBe(true);
  }
});
