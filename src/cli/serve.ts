import { InputError } from '../core/errors.js';
import { redactUrl } from '../core/redact-url.js';
import type { PriorityName } from '../core/limits.js';
import { DirectorSupervisor } from '../runtime/cluster/director-supervisor.js';
import { DEFAULT_ADMISSION_LIMITS, type AdmissionLimits } from '../schedule/admission.js';
import { durationMs } from './run.js';
import { cliLogger, type LogFlags } from './log-flags.js';
import { requiredRedisConnection, type RedisFlags } from './redis-flags.js';
import { DirectorRecords } from '../runtime/cluster/director-records.js';
import { httpPlan, serveHttp, type HttpFlags } from './serve-http.js';

export interface ServeCommandOptions extends RedisFlags, LogFlags, HttpFlags {
  readonly prefix: string;
  readonly tickMs: string;
  readonly nodeTtlMs: string;
  readonly payment: string;
  readonly batchMax: string;
  /** `--admission` alone: the default limits; with a value: per-class limits. */
  readonly admission?: string | true;
}

/** `swarmlet serve --redis …`: runs the director until Ctrl-C. */
export async function serveCommand(options: ServeCommandOptions): Promise<void> {
  const connection = requiredRedisConnection(options);
  const tickMs = positive('--tick-ms', options.tickMs);
  const nodeTtlMs = positive('--node-ttl-ms', options.nodeTtlMs);
  const logger = cliLogger(options);
  if (options.payment !== 'critical-value' && options.payment !== 'bid')
    throw new InputError(
      '--payment',
      `"${options.payment}" is not a payment rule`,
      'use critical-value (truthful second price, the default) or bid (pay as bid)',
    );
  const admission = options.admission === undefined ? undefined : admissionLimits(options.admission);
  const batchMax = positive('--batch-max', options.batchMax);
  if (!Number.isInteger(batchMax))
    throw new InputError(
      '--batch-max',
      `"${options.batchMax}" is not a whole number`,
      'write --batch-max 64 (or 1 for one BullMQ job per micro-task)',
    );
  const http = httpPlan(options); // checked before anything starts
  const current: { supervisor?: DirectorSupervisor } = {}; // set once the director holds its lease
  // Up before the director holds its lease: the API answers 503 naming the director until then.
  const server =
    http &&
    (await serveHttp(
      http,
      () => current.supervisor?.director,
      (line) => logger.info({}, line),
    ));
  const director = await DirectorSupervisor.start({
    redisUrl: connection.url,
    ...(connection.tls && { redisTls: connection.tls }),
    prefix: options.prefix,
    tickMs,
    nodeTtlMs,
    lockDurationMs: nodeTtlMs,
    logger,
    payment: options.payment,
    admission,
    batchMax,
    records: new DirectorRecords(), // one for the process: decisions keep their numbering across a step-down
  }).catch(async (error: unknown) => {
    await server?.close();
    throw error;
  });
  current.supervisor = director;
  logger.info(
    { prefix: options.prefix, redis: redactUrl(connection.url) },
    `director up on ${redactUrl(connection.url)} (prefix ${options.prefix}); waiting for agents and jobs`,
  );
  const stop = (): void => void director.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await director.done; // Ctrl-C, or another director holding the prefix after a step-down
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await server?.close();
  }
}

/** `low=10s,normal=30s,high=2m`: each class given replaces its default; `true` keeps all defaults. */
function admissionLimits(text: string | true): AdmissionLimits {
  const maxBacklogMs = { ...DEFAULT_ADMISSION_LIMITS.maxBacklogMs };
  if (text === true) return { maxBacklogMs };
  for (const pair of text.split(',')) {
    const [name = '', value = ''] = pair.split('=').map((part) => part.trim());
    if (!Object.hasOwn(maxBacklogMs, name))
      throw new InputError(
        '--admission',
        `"${name}" is not a priority class`,
        'write --admission low=10s,normal=30s,high=2m (any of the three)',
      );
    maxBacklogMs[name as PriorityName] = durationMs(`--admission ${name}`, value);
  }
  return { maxBacklogMs };
}

function positive(field: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new InputError(field, `"${text}" is not a positive number`, `write ${field} 1000`);
  return value;
}
