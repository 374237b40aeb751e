import type { LogFields, Logger, LogLevel } from '../../src/core/logger.js';

export interface LogEvent {
  readonly level: LogLevel;
  readonly fields: LogFields;
  readonly msg: string;
}

/** A logger that keeps every event, for tests that assert on levels and fields. */
export function recordingLogger(events: LogEvent[] = []): Logger & { readonly events: LogEvent[] } {
  const at =
    (level: LogLevel) =>
    (fields: LogFields, msg: string): void =>
      void events.push({ level, fields, msg });
  return { events, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that keeps only each event's message (tests that assert on what an operator reads). */
export function lineLogger(lines: string[]): Logger {
  const push = (_fields: LogFields, msg: string): void => void lines.push(msg);
  return { debug: push, info: push, warn: push, error: push };
}
