/**
 * The cluster's per-micro-task inputs checked by hand, as the embedded IPC checks its results:
 * zod costs microseconds per object, paid once per micro-task on each side. Each check accepts
 * exactly what its schema in protocol.ts accepts for the common shape and says no otherwise; a
 * "no" goes through the schema, which accepts it or names the bad field (test/cluster-hot-checks).
 */
import { MODE_JOIN, MODE_RUN } from '../local/wire.js';
import type { LogEntry, TaskPayload } from './protocol.js';

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
// zod: int() is a safe integer
const isCount = (value: unknown, min: number): boolean => Number.isSafeInteger(value) && (value as number) >= min;

/** A `results` entry of `P:log` (logEntrySchema). */
export function isResultsEntry(value: unknown): value is LogEntry {
  if (!isObject(value) || value.kind !== 'results' || typeof value.nodeId !== 'string' || !Array.isArray(value.results))
    return false;
  for (const result of value.results as unknown[]) {
    // the schema wants the key, even as null
    if (!isObject(result) || !Number.isSafeInteger(result.id) || !('value' in result)) return false;
    if (result.status !== 'ok' && result.status !== 'split' && result.status !== 'dead') return false;
    if (!Number.isFinite(result.durationUs) || (result.durationUs as number) < 0 || !isCount(result.attempt, 1))
      return false;
  }
  return true;
}

/** A micro-task's payload in the queue (taskPayloadSchema). */
export function isTaskPayload(value: unknown): value is TaskPayload {
  if (!isObject(value) || (value.mode !== MODE_RUN && value.mode !== MODE_JOIN) || !('input' in value)) return false;
  if (!isCount(value.depth, 0) || typeof value.label !== 'string') return false;
  if (value.jobKey !== undefined && typeof value.jobKey !== 'string') return false;
  return value.deps === null || (isObject(value.deps) && Object.getPrototypeOf(value.deps) === Object.prototype);
}
