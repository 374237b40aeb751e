import { describe, expect, it } from 'vitest';
import { LoadWatch } from '../src/runtime/load-watch.js';

describe('LoadWatch: when a type whose loads fail is given up on', () => {
  it('a type that never loaded: after 2 × maxAttempts crashes in a row (a timeout counts 2)', () => {
    const watch = new LoadWatch(3, 10_000);
    expect([1, 2, 3, 4, 5].map(() => watch.failed('t', false))).toEqual([false, false, false, false, false]);
    expect(watch.failed('t', false)).toBe(true);
    expect([watch.failed('u', true), watch.failed('u', true), watch.failed('u', true)]).toEqual([false, false, true]);
  });

  it('a type that loaded before: only after 10 × maxAttempts in a row; a good load starts the count over', () => {
    const watch = new LoadWatch(3, 10_000);
    watch.loaded('t');
    for (let i = 0; i < 29; i++) expect(watch.failed('t', false)).toBe(false);
    watch.loaded('t');
    for (let i = 0; i < 29; i++) expect(watch.failed('t', false)).toBe(false);
    expect(watch.failed('t', false)).toBe(true);
  });
});
