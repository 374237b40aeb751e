/**
 * `--log-format` and `--log-level` of `serve` and `agent`, and the pino logger they make: the runtime logs through
 * the small Logger of core/logger.ts, and only this edge knows pino. JSON (one object per line on stdout: level, time,
 * msg and the event's ids) when stdout is not a terminal, so a log shipper reads it as is; pino-pretty on a terminal.
 */
import type { Command } from 'commander';
import { pino, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import { InputError } from '../core/errors.js';
import { LOG_LEVELS, type LogLevel, type Logger } from '../core/logger.js';

export interface LogFlags {
  readonly logFormat?: string;
  readonly logLevel?: string;
}

const LOG_FORMATS = ['json', 'pretty'] as const;
type LogFormat = (typeof LOG_FORMATS)[number];

/** Fields that could hold a secret if a caller ever passed one: masked whatever the message says. */
const SECRET_PATHS = ['password', 'redisUrl', 'url', '*.password', '*.redisUrl', '*.url'];

export function addLogFlags(command: Command): Command {
  return command
    .option('--log-format <format>', 'json (one object per line) or pretty (default: pretty on a terminal, else json)')
    .option('--log-level <level>', `the least severe events shown: ${LOG_LEVELS.join(', ')}`, 'info');
}

/** The flags, checked: a bad one is an InputError naming it and the values it takes. */
export function logSettings(flags: LogFlags, isTty: boolean): { format: LogFormat; level: LogLevel } {
  const format = flags.logFormat ?? (isTty ? 'pretty' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new InputError(
      '--log-format',
      `"${format}" is not a log format`,
      'write --log-format json or --log-format pretty',
    );
  const level = flags.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new InputError(
      '--log-level',
      `"${level}" is not a log level`,
      `write --log-level info (or one of ${LOG_LEVELS.join(', ')})`,
    );
  return { format: format as LogFormat, level: level as LogLevel };
}

/** The command's logger on stdout, written synchronously: a line said just before an exit is not lost. */
export function cliLogger(flags: LogFlags): Logger {
  const tty = process.stdout.isTTY === true;
  const { format, level } = logSettings(flags, tty);
  const redact = { paths: SECRET_PATHS, censor: '***' };
  if (format === 'pretty')
    return asLogger(
      pino(
        { level, redact },
        pretty({
          destination: 1,
          sync: true,
          colorize: tty,
          singleLine: true,
          ignore: 'pid,hostname',
          translateTime: 'SYS:standard',
        }),
      ),
    );
  // Levels as words ("warn"), not pino's numbers: what an operator filters on.
  const formatters = { level: (label: string) => ({ level: label }) };
  return asLogger(pino({ level, redact, formatters }, pino.destination({ dest: 1, sync: true })));
}

function asLogger(log: Pino): Logger {
  return {
    debug: (fields, msg) => log.debug(fields, msg),
    info: (fields, msg) => log.info(fields, msg),
    warn: (fields, msg) => log.warn(fields, msg),
    error: (fields, msg) => log.error(fields, msg),
  };
}
