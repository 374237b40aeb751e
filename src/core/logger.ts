/**
 * What the runtime logs through: one event at a time, a level, a message for people and fields for machines (the ids
 * an operator filters on). `swarmlet serve` and `swarmlet agent` implement it with pino at the CLI edge (one JSON
 * object per line); tests pass one that records. Kept here, as types, so runtime code never depends on pino.
 */
export interface LogFields {
  readonly jobId?: string;
  /** The micro-task's id: the director's number in a cluster, the user's label where that is all there is. */
  readonly microTaskId?: string | number;
  readonly swarmletId?: string;
  readonly nodeId?: string;
  readonly taskType?: string;
  readonly [field: string]: unknown;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}

const ignore = (): void => undefined;

/** Says nothing (the default where no logger is given). */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** The same logger with `bound` fields added to every event (an agent's nodeId); an event's own fields win. */
export function withFields(logger: Logger, bound: LogFields): Logger {
  return {
    debug: (fields, msg) => logger.debug({ ...bound, ...fields }, msg),
    info: (fields, msg) => logger.info({ ...bound, ...fields }, msg),
    warn: (fields, msg) => logger.warn({ ...bound, ...fields }, msg),
    error: (fields, msg) => logger.error({ ...bound, ...fields }, msg),
  };
}
