import { InputError, type FixValue } from './errors.js';

/** Deeper than this, JSON.stringify and JSON.parse risk the stack; no real input nests so far. */
export const MAX_INPUT_DEPTH = 1_000;

/**
 * Inputs travel to swarmlets (and through Redis) as JSON. Checks that a value can, before anything
 * runs: what JSON cannot carry (BigInt, cycles) would throw later, deep in the runtime, and what it
 * silently changes (functions, symbols, Map, Set, NaN, Infinity) would reach the task as something
 * else. Throws an InputError naming the path to the bad value, the value and the fix.
 */
export function checkJsonValue(value: unknown, field: string): void {
  walk(value, field, [], 0);
}

function walk(value: unknown, field: string, ancestors: object[], depth: number): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || value === undefined) return;
  if (typeof value === 'number') return checkNumber(value, field);
  if (typeof value === 'bigint') throw bigIntError(value, field);
  if (typeof value === 'function' || typeof value === 'symbol')
    throw new InputError(
      field,
      `is a ${typeof value}, which JSON drops`,
      `remove ${field}: pass data, not code (the task can import what it needs)`,
      'remove',
    );
  const object = value as object;
  if (depth >= MAX_INPUT_DEPTH)
    throw new InputError(field, `nests deeper than ${MAX_INPUT_DEPTH} levels`, `write ${field}: null`, { value: null });
  if (ancestors.includes(object))
    throw new InputError(
      field,
      'refers back to an object that contains it (a cycle), which JSON cannot carry',
      `remove ${field}: pass a tree, and refer to shared parts by an id`,
      'remove',
    );
  const json = readJson(object, field);
  if (json !== object) return walk(json, field, ancestors, depth + 1);
  checkCollection(object, field);
  ancestors.push(object);
  for (const [key, child] of entries(object, field)) walk(child, key, ancestors, depth + 1);
  ancestors.pop();
}

function checkNumber(value: number, field: string): void {
  if (Number.isFinite(value)) return;
  throw new InputError(field, `is ${value}, which JSON turns into null`, `write ${field}: "${value}" (a string)`, {
    value: String(value),
  });
}

function bigIntError(value: bigint, field: string): InputError {
  const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
  const fixValue: FixValue = { value: safe ? Number(value) : String(value) };
  return new InputError(
    field,
    `is a BigInt (${previewValue(value)}), which JSON cannot carry`,
    `write ${field}: ${JSON.stringify(fixValue.value)} (a ${safe ? 'number' : 'string'})`,
    fixValue,
  );
}

/** What JSON.stringify would write for an object with `toJSON` (a Date, say); the object itself otherwise. */
function readJson(object: object, field: string): unknown {
  return read(field, () => {
    const toJson = (object as { toJSON?: unknown }).toJSON;
    return typeof toJson === 'function' ? (toJson as (key: string) => unknown).call(object, '') : object;
  });
}

function checkCollection(object: object, field: string): void {
  if (object instanceof Map)
    throw new InputError(
      field,
      `is a Map of ${object.size}, which JSON writes as {}`,
      `write ${field} as a plain object: Object.fromEntries(map)`,
      { value: read(field, () => Object.fromEntries(object)) },
    );
  if (object instanceof Set)
    throw new InputError(field, `is a Set of ${object.size}, which JSON writes as {}`, `write ${field} as [...set]`, {
      value: [...object],
    });
}

/** The children JSON.stringify would visit, with their paths. */
function entries(object: object, field: string): [string, unknown][] {
  return read(field, () => {
    if (Array.isArray(object))
      return Array.from(object, (child: unknown, i) => [`${field}[${i}]`, child] as [string, unknown]);
    return Object.keys(object).map((key) => [
      fieldPath(field, key),
      read(fieldPath(field, key), () => (object as Record<string, unknown>)[key]),
    ]);
  });
}

/** A getter or proxy that throws while we read it is bad input, not a crash of Swarmlet. */
function read<T>(field: string, reader: () => T): T {
  try {
    return reader();
  } catch (error) {
    if (error instanceof InputError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(
      field,
      `cannot be read (${message.slice(0, 200)})`,
      `remove ${field}: pass plain data`,
      'remove',
    );
  }
}

/** `a.b` for identifiers, `a["b c"]` for other keys: a path a reader (or a tool) can follow back. */
export function fieldPath(field: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${field}.${key}` : `${field}[${JSON.stringify(key)}]`;
}

/** A short, readable form of a bad value for an error message. */
export function previewValue(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'function') text = 'a function';
  else if (typeof value === 'symbol' || typeof value === 'number') text = String(value);
  else if (Array.isArray(value)) text = `an array of ${value.length}`;
  else if (typeof value === 'object' && value !== null) text = 'an object';
  else text = String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
