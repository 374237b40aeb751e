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
  // The path is kept as keys and written out only for an error: a large job is walked at about JSON.stringify's pace.
  const path: (string | number)[] = [];
  try {
    walk(value, path, [], 0);
  } catch (error) {
    const at = path.reduce<string>(
      (name, key) => (typeof key === 'number' ? `${name}[${key}]` : fieldPath(name, key)),
      field,
    );
    if (error instanceof BadValue) throw error.at(at);
    // A getter, proxy or toJSON that throws while we read it is bad input, not a crash of Swarmlet.
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(at, `cannot be read (${message.slice(0, 200)})`, `remove ${at}: pass plain data`, 'remove');
  }
}

/** A bad value found while walking; becomes an InputError once its path is written out. */
class BadValue {
  constructor(readonly at: (field: string) => InputError) {}
}

/** `level` counts nesting and toJSON hops (a toJSON result stands at its object's path), so both stay bounded. */
function walk(value: unknown, path: (string | number)[], ancestors: object[], level: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new BadValue((field) => nonFinite(value, field));
      return;
    case 'bigint':
      throw new BadValue((field) => bigIntError(value, field));
    case 'function':
    case 'symbol':
      throw new BadValue((field) => dropped(typeof value, field));
  }
  if (value === null) return;
  const object = value as object;
  if (level >= MAX_INPUT_DEPTH) throw new BadValue(tooDeep);
  if (ancestors.includes(object)) throw new BadValue(cycle);
  const toJson = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJson === 'function') {
    const json: unknown = (toJson as (key: string) => unknown).call(object, '');
    if (json !== object) return walk(json, path, ancestors, level + 1);
  }
  if (object instanceof Map || object instanceof Set) throw new BadValue((field) => collection(object, field));
  ancestors.push(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      path.push(i);
      walk(object[i], path, ancestors, level + 1);
      path.pop();
    }
  } else {
    for (const key of Object.keys(object)) {
      path.push(key);
      walk((object as Record<string, unknown>)[key], path, ancestors, level + 1);
      path.pop();
    }
  }
  ancestors.pop();
}

function nonFinite(value: number, field: string): InputError {
  return new InputError(field, `is ${value}, which JSON turns into null`, `write ${field}: "${value}" (a string)`, {
    value: String(value),
  });
}

function dropped(kind: string, field: string): InputError {
  return new InputError(
    field,
    `is a ${kind}, which JSON drops`,
    `remove ${field}: pass data, not code (the task can import what it needs)`,
    'remove',
  );
}

function tooDeep(field: string): InputError {
  return new InputError(field, `nests deeper than ${MAX_INPUT_DEPTH} levels`, `write ${field}: null`, { value: null });
}

function cycle(field: string): InputError {
  return new InputError(
    field,
    'refers back to an object that contains it (a cycle), which JSON cannot carry',
    `remove ${field}: pass a tree, and refer to shared parts by an id`,
    'remove',
  );
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

function collection(object: Map<unknown, unknown> | Set<unknown>, field: string): InputError {
  if (object instanceof Set)
    return new InputError(field, `is a Set of ${object.size}, which JSON writes as {}`, `write ${field} as [...set]`, {
      value: [...object],
    });
  return new InputError(
    field,
    `is a Map of ${object.size}, which JSON writes as {}`,
    `write ${field} as a plain object: Object.fromEntries(map)`,
    { value: Object.fromEntries(Array.from(object, ([key, value]) => [keyText(key), value])) },
  );
}

/** A Map key as an object key, as Object.fromEntries would write it (a key without toString gets a preview). */
function keyText(key: unknown): string {
  try {
    return String(key);
  } catch {
    return previewValue(key);
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
