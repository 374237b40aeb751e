import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { AdmissionError, InputError } from '../core/errors.js';
import { previewValue } from '../core/json-input.js';
import { NotFound } from './routes.js';

/** An API error as JSON: the HTTP status, the field, what was wrong and what to send instead. */
export interface ApiError {
  readonly status: number;
  readonly error: { readonly field: string; readonly message: string; readonly fix: string };
}

/** The first zod issue of a request's path or query, named the way a caller writes it (`query.limit`). */
export function requestIssue(where: 'params' | 'query', issues: readonly z.core.$ZodIssue[], raw: unknown): ApiError {
  const issue = issues[0]!;
  const prefix = where === 'params' ? 'path' : 'query';
  if (issue.code === 'unrecognized_keys') {
    const field = `${prefix}.${issue.keys[0]}`;
    return bad(field, `is not a known parameter (known: see /openapi.json)`, `remove ${field}`);
  }
  const key = String(issue.path[0] ?? '');
  const field = key === '' ? prefix : `${prefix}.${key}`;
  const given = key === '' ? raw : (raw as Record<string, unknown>)[key];
  const fix =
    issue.code === 'invalid_value' && 'values' in issue
      ? `use one of: ${issue.values.map(String).join(', ')}`
      : issue.code === 'too_big' || issue.code === 'too_small'
        ? `give ${field} ${issue.message.replace(/^Too (big|small): expected \w+ to (be|have) /, '')}`
        : key === 'id'
          ? 'use an id from GET /api/jobs'
          : `${issue.message}; see /openapi.json`;
  return bad(field, `${issue.message} (got ${previewValue(given)})`, fix);
}

/** What a handler threw, as an API error; undefined for a bug (answered 500 without its stack). */
export function handlerError(error: unknown): ApiError | undefined {
  if (error instanceof InputError)
    return bad(error.field, error.message, error.fix === '' ? 'see README.md for the job format' : error.fix);
  if (error instanceof NotFound)
    return { status: 404, error: { field: error.field, message: error.message, fix: error.fix } };
  if (error instanceof Unavailable)
    return { status: 503, error: { field: error.field, message: error.message, fix: error.fix } };
  if (error instanceof AdmissionError)
    return {
      status: 429,
      error: {
        field: 'body',
        message: error.message,
        fix:
          error.retryAfterMs === undefined
            ? 'submit it later or with a higher priority'
            : `retry in ${Math.ceil(error.retryAfterMs / 1000)} s`,
      },
    };
  return undefined;
}

export function bad(field: string, message: string, fix: string, status = 400): ApiError {
  return { status, error: { field, message, fix } };
}

/** The process cannot answer now (the cluster's director is elsewhere or taking over): 503, naming what is missing. */
export class Unavailable extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/**
 * A request node's HTTP parser refused before any route saw it (headers over 16 KB, a malformed request line): the
 * same JSON error, written on the socket, which then closes (fastify's default answered in its own shape).
 */
export function answerClientError(error: { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, error: body } =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? bad('url', 'the request line and headers are over 16 KB', 'send a shorter URL and fewer headers', 431)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? bad('request', 'the request took too long to arrive', 'send it again, whole', 408)
        : bad('request', 'is not a well-formed HTTP/1.1 request', 'send one (a body needs Content-Length)');
  const json = JSON.stringify({ error: body });
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  else socket.destroy();
}

/** The router's refusals of a URL (a bad percent-escape, a path segment too long) as API errors. */
export function urlError(error: { code?: string }, path: string): ApiError {
  return error.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? bad('url', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`, 'use an id from GET /api/jobs')
    : bad(
        'url',
        `${previewValue(path)} is not a valid URL (a bad percent-escape?)`,
        'percent-encode it: see /openapi.json',
      );
}

/** Job ids are at most 200 characters (schemas.ts): the router takes path parameters that long. */
export const MAX_PARAM_LENGTH = 200;
