import type { FixValue } from './errors.js';

/**
 * The fix for a field of a job that failed its shape, as a value the field accepts: the default
 * where the field has one, an example otherwise, `remove` for unknown keys and bad list entries.
 */
export function jobFixValue(path: readonly PropertyKey[], unknownKey: boolean, exampleType: string): FixValue {
  if (unknownKey) return 'remove';
  const [first, index, key, depIndex] = path;
  if (first === 'tasks') {
    const id = `task-${String(index ?? 0)}`;
    if (index === undefined) return { value: [{ id, type: exampleType }] };
    if (key === undefined) return { value: { id, type: exampleType } };
    if (key === 'deps') return depIndex === undefined ? { value: [] } : 'remove';
    return { value: key === 'id' ? id : exampleType };
  }
  const topLevel: Record<string, FixValue> = {
    type: { value: exampleType },
    priority: { value: 'normal' },
    owner: { value: 'default' },
    name: 'remove',
    deadlineMs: { value: 60_000 },
  };
  return topLevel[String(first)] ?? { value: { type: exampleType, input: null } };
}

/** The fix as a sentence: `write job.priority: "normal"` or `remove job.retries`. */
export function fixText(field: string, fix: FixValue): string {
  return fix === 'remove' ? `remove ${field}` : `write ${field}: ${JSON.stringify(fix.value)}`;
}

/** The value at a zod issue's path (for the message's "got …"); undefined where the path leaves the data. */
export function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
