/**
 * The wire format of micro-tasks and results, with no dependencies: the swarmlet host imports
 * only this (zod stays in the director), so a cold start loads as little as possible.
 */
import { LIMITS } from '../../core/limits.js';

/** How a micro-task is to be run: `run` (split first if the type splits) or `join` children's outputs. */
export const MODE_RUN = 0;
export const MODE_JOIN = 1;

/** [taskId, mode, input, depth, attempt, deps (outputs by id) or null, label] */
export type WireTask = [number, 0 | 1, unknown, number, number, Record<string, unknown> | null, string];

export const RESULT_OK = 0;
export const RESULT_ERROR = 1;
export const RESULT_SPLIT = 2;
/**
 * [taskId, status, value (output | {message, stack} | children), durationUs, usage?]
 * usage = [cpuUs, rssKb]: CPU time the micro-task used and the swarmlet's resident memory when it
 * ended. Measured only for micro-tasks of a type whose last one took ≥ 1 ms: the two system calls
 * cost more than a no-op task.
 */
export type WireResult = [number, 0 | 1 | 2, unknown, number, ([number, number] | undefined)?];

/** Per-result check, hand-written because it runs once per micro-task. */
export function isWireResult(value: unknown): value is WireResult {
  return (
    Array.isArray(value) &&
    (value.length === 4 || (value.length === 5 && isUsage(value[4]))) &&
    typeof value[0] === 'number' &&
    (value[1] === RESULT_OK || value[1] === RESULT_ERROR || value[1] === RESULT_SPLIT) &&
    typeof value[3] === 'number'
  );
}

function isUsage(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number';
}

/** A stateful type's snapshot, as JSON, may be at most this big (like a micro-task input). */
export const MAX_STATE_BYTES = LIMITS.maxPayloadBytes;

/**
 * Why a value returned by `snapshot()` cannot travel as a task state (JSON, bounded), or
 * undefined when it can. Runs in the swarmlet, once per snapshot.
 */
export function stateProblem(state: unknown, maxBytes = MAX_STATE_BYTES): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return `snapshot() returned data that is not JSON-serializable (${reason}). Fix: return plain objects, arrays, strings, numbers, booleans or null`;
  }
  if (json === undefined)
    return `snapshot() returned ${typeof state === 'function' ? 'a function' : String(state)}. Fix: return the state as JSON data (an object, or null for none)`;
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes)
    return `snapshot() returned ${bytes} bytes of JSON, over the limit of ${maxBytes}. Fix: keep the state small (counters, cursors, a bounded cache) and big data in a file or a database`;
  return undefined;
}
