/** The repeated-warning limiter on a virtual clock: one line per key per interval, then the count held back. */
import { expect, it } from 'vitest';
import { WarningLimiter } from '../src/core/warning-limiter.js';
import { recordingLogger } from './support/recording-logger.js';

function limiter(intervalMs = 1_000) {
  let nowMs = 0;
  const lines: string[] = [];
  const warnings = new WarningLimiter({ nowMs: () => nowMs }, intervalMs, (line) => lines.push(line));
  return { warnings, lines, advance: (ms: number) => (nowMs += ms) };
}

it('says a key once per interval and counts the repeats it held back on the next line', () => {
  const { warnings, lines, advance } = limiter();
  for (let tick = 0; tick < 10; tick++, advance(100)) warnings.warn('node:a', 'ignoring node a: not JSON');
  expect(lines).toEqual(['ignoring node a: not JSON']);
  warnings.warn('node:a', 'ignoring node a: not JSON');
  expect(lines).toEqual([
    'ignoring node a: not JSON',
    'ignoring node a: not JSON (9 repeat(s) in the last 1 s not shown)',
  ]);
});

it('keys are independent: another key is said at once', () => {
  const { warnings, lines } = limiter();
  warnings.warn('node:a', 'a is bad');
  warnings.warn('node:b', 'b is bad');
  warnings.warn('node:a', 'a is bad');
  expect(lines).toEqual(['a is bad', 'b is bad']);
});

it('flush says the count of repeats held back once their interval has passed, even if the warning stopped', () => {
  const { warnings, lines, advance } = limiter();
  warnings.warn('k', 'bad');
  warnings.warn('k', 'bad');
  warnings.warn('k', 'bad');
  warnings.flush();
  expect(lines).toEqual(['bad']); // the interval is not over yet
  advance(1_000);
  warnings.flush();
  expect(lines).toEqual(['bad', 'bad (2 repeat(s) in the last 1 s not shown)']);
  warnings.flush();
  expect(lines).toHaveLength(2); // said once
  warnings.warn('k', 'bad'); // the count line started the next interval: a warning that goes on stays one line per interval
  expect(lines).toHaveLength(2);
  advance(1_000);
  warnings.flush();
  expect(lines.at(-1)).toBe('bad (1 repeat(s) in the last 1 s not shown)');
  advance(1_000);
  warnings.flush(); // quiet for a whole interval: forgotten
  warnings.warn('k', 'bad again');
  expect(lines.at(-1)).toBe('bad again');
});

it('a key quiet for a whole interval is forgotten (memory stays bounded by the keys active in one interval)', () => {
  const { warnings, advance } = limiter();
  for (let i = 0; i < 100; i++) warnings.warn(`node:${i}`, 'bad');
  expect(warnings.activeKeys).toBe(100);
  advance(1_000);
  warnings.flush();
  expect(warnings.activeKeys).toBe(0);
});

it('refuses an interval that is not a positive number, naming it and the fix', () => {
  expect(() => new WarningLimiter({ nowMs: () => 0 }, 0, () => undefined)).toThrow(
    /intervalMs: 0 is not a positive number\. Fix: use 30000/,
  );
});

it('into a logger: one warn event per interval for a warning in a loop, its ids kept and the repeats counted', () => {
  let nowMs = 0;
  const logger = recordingLogger();
  // As the director and the agent wire it: the limiter's sink is the logger's warn.
  const warnings = new WarningLimiter({ nowMs: () => nowMs }, 30_000, (line, fields) => logger.warn(fields, line));
  for (let beat = 0; beat < 300; beat++, nowMs += 100)
    warnings.warn('redis', 'redis: connect ECONNREFUSED 127.0.0.1:6379', { nodeId: 'n1', topic: 'redis' });
  warnings.flush();
  expect(logger.events).toEqual([
    { level: 'warn', fields: { nodeId: 'n1', topic: 'redis' }, msg: 'redis: connect ECONNREFUSED 127.0.0.1:6379' },
    {
      level: 'warn',
      fields: { nodeId: 'n1', topic: 'redis', suppressed: 299 },
      msg: 'redis: connect ECONNREFUSED 127.0.0.1:6379 (299 repeat(s) in the last 30 s not shown)',
    },
  ]);
});
