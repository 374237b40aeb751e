import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { errorSchema } from '../api/schemas.js';
import { InputError } from '../core/errors.js';
import { HTTP_FILE, readHttpFile } from './http-file.js';

/** The flags every command that talks to a running swarm takes. */
export interface ApiFlags {
  readonly url?: string;
  readonly tokenFile?: string;
}

/** A swarm's API: where, with which token (none: reads only, on loopback), and where that came from. */
export interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
  readonly from: string;
}

/** The server failed or could not be reached: not the user's input (exit 1). */
export class ApiCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** An answer slower than this is a hung server, said as such. */
const TIMEOUT_MS = 10_000;

export function addApiFlags(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `the swarm's API (default: from ${HTTP_FILE}, written by swarmlet run --dashboard; or SWARMLET_URL)`,
    )
    .option(
      '--token-file <file>',
      `a file holding the swarm's token, needed to cancel (default: the token in ${HTTP_FILE}, or SWARMLET_TOKEN)`,
    );
}

/**
 * Which swarm to talk to: --url, else the one this directory's `swarmlet run --dashboard` wrote down, else
 * SWARMLET_URL. The token of .swarmlet/http.json goes only to its own URL.
 */
export function apiTarget(flags: ApiFlags, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const written = readHttpFile();
  const given = flags.url ?? (written ? undefined : env.SWARMLET_URL || undefined);
  const url = given === undefined ? written?.url : checkUrl(given, flags.url !== undefined ? '--url' : 'SWARMLET_URL');
  if (url === undefined)
    throw new InputError(
      '--url',
      'no running swarm found',
      'start one with `swarmlet run <job> --dashboard`, or give --url',
      'remove',
    );
  const from = flags.url !== undefined ? '--url' : given !== undefined ? 'SWARMLET_URL' : HTTP_FILE;
  const token =
    flags.tokenFile !== undefined
      ? readToken(flags.tokenFile)
      : written?.url === url
        ? written.token
        : env.SWARMLET_TOKEN || undefined;
  return { url, token, from };
}

function checkUrl(text: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new InputError(flag, `${JSON.stringify(text)} is not an http URL`, `write ${flag} http://127.0.0.1:PORT`);
  return url.href.replace(/\/+$/, '');
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new InputError(
      '--token-file',
      `cannot read ${file} (${(error as { code?: string }).code ?? String(error)})`,
      'give a readable file holding the token (chmod 600)',
    );
  }
  if (text === '') throw new InputError('--token-file', `${file} is empty`, 'write the token into it');
  return text;
}

export interface Call<T> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly schema: z.ZodType<T>;
  /** The API's names for what the user gave as a flag or argument (`query.state` → `--state`). */
  readonly fields?: Readonly<Record<string, string>>;
  /** The fix in the CLI's words, by the CLI's name of the field. */
  readonly fixes?: Readonly<Record<string, string>>;
}

/**
 * One API call, its answer checked against the API's own schema. A refusal (4xx) is an InputError naming the field
 * and the fix (exit 2); a server failure, a bad answer or no answer is an ApiCallError (exit 1).
 */
export async function callApi<T>(target: ApiTarget, call: Call<T>): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${target.url}${call.path}`, {
      method: call.method,
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw unreachable(target, error);
  }
  const body = parseJson(text);
  if (response.ok) {
    const answer = call.schema.safeParse(body);
    if (answer.success) return answer.data;
    const issue = answer.error.issues[0]!;
    throw new ApiCallError(
      `${target.url} answered ${call.method} ${call.path} with something this CLI does not understand ` +
        `(${issue.path.join('.') || 'body'}: ${issue.message}): is it a Swarmlet swarm of the same version?`,
    );
  }
  const refusal = errorSchema.safeParse(body);
  if (!refusal.success)
    throw new ApiCallError(
      `${target.url} answered HTTP ${response.status} without a Swarmlet error: is it a Swarmlet swarm? (${target.from})`,
    );
  const { field, message, fix } = refusal.data.error;
  const line = (text: string) => text.replace(/\s+/g, ' ');
  if (response.status === 401)
    throw new InputError(
      '--token-file',
      `${line(message)} (the swarm at ${target.url} needs its token for this)`,
      `give --token-file FILE with the swarm's token, or set SWARMLET_TOKEN`,
    );
  if (response.status < 500) {
    const named = call.fields?.[field] ?? field;
    throw new InputError(named, line(message), call.fixes?.[named] ?? line(fix));
  }
  throw new ApiCallError(`the swarm failed: ${field}: ${line(message)}. Fix: ${line(fix)}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function unreachable(target: ApiTarget, error: unknown): ApiCallError {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { name?: string }).name;
  const why = cause === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause ?? String(error));
  const hint =
    target.from === HTTP_FILE
      ? `is its \`swarmlet run --dashboard\` still running? (a run that was killed leaves ${HTTP_FILE} behind: delete it)`
      : `check ${target.from}`;
  return new ApiCallError(`cannot reach the swarm at ${target.url} (${why}): ${hint}`);
}

/** Prints JSON on stdout, as every command's --json does. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
