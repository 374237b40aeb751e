import type { Clock } from './clock.js';
import { InputError } from './errors.js';
import type { LogFields } from './logger.js';

interface Said {
  readonly atMs: number;
  readonly line: string;
  readonly fields: LogFields | undefined;
  repeats: number;
}

/** Where a limited warning goes: its line, and its fields (with `suppressed`: the repeats not shown) if it has any. */
export type WarningSink = (line: string, fields: LogFields) => void;

/**
 * Repeated warnings, rate-limited per key: the first line of a key is said at once, repeats within
 * `intervalMs` are only counted, and the next line said for the key (or `flush` once the interval
 * has passed) carries that count. A bad value read every tick is then one line per interval, not
 * ten a second. Time comes from the clock (STYLE.md §1), so tests advance it instead of sleeping.
 */
export class WarningLimiter {
  private readonly said = new Map<string, Said>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly log: WarningSink,
  ) {
    if (!(intervalMs > 0))
      throw new InputError(
        'intervalMs',
        `${intervalMs} is not a positive number`,
        'use 30000 (one line per key per 30 s)',
      );
  }

  /** Says `line` unless `key` was said less than an interval ago (then the repeat is counted). */
  warn(key: string, line: string, fields?: LogFields): void {
    const nowMs = this.clock.nowMs();
    const last = this.said.get(key);
    if (last !== undefined && nowMs - last.atMs < this.intervalMs) {
      last.repeats += 1;
      return;
    }
    if (last !== undefined && last.repeats > 0) this.sayRepeats(line, fields, last.repeats);
    else this.log(line, fields ?? {});
    this.said.set(key, { atMs: nowMs, line, fields, repeats: 0 });
  }

  /**
   * For keys whose interval has passed: says the repeats counted (that line starts the key's next
   * interval, so a warning that goes on is one line per interval), or forgets a key that was quiet.
   * Call it every tick.
   */
  flush(): void {
    const nowMs = this.clock.nowMs();
    for (const [key, last] of this.said) {
      if (nowMs - last.atMs < this.intervalMs) continue;
      if (last.repeats === 0) {
        this.said.delete(key);
        continue;
      }
      this.sayRepeats(last.line, last.fields, last.repeats);
      this.said.set(key, { atMs: nowMs, line: last.line, fields: last.fields, repeats: 0 });
    }
  }

  /** Keys said within the current interval (for tests: memory is bounded by them). */
  get activeKeys(): number {
    return this.said.size;
  }

  private sayRepeats(line: string, fields: LogFields | undefined, repeats: number): void {
    const seconds = Math.round(this.intervalMs / 1000);
    this.log(`${line} (${repeats} repeat(s) in the last ${seconds} s not shown)`, { ...fields, suppressed: repeats });
  }
}
