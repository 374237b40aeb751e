import { InputError } from '../../src/core/errors.js';

/**
 * Applies an InputError's fix to the value it was raised for: follows the field's path (`job.tasks[2].deps[0]`,
 * `job.input["a b"]`) from `root` (`job`, `Swarm options`) and sets or removes what it names. Returns a new
 * value (the old one is left as it was where the path does not go).
 */
export function applyFix(value: unknown, error: InputError, root: string): unknown {
  if (error.fixValue === undefined) throw new Error(`no fix value in: ${error.message}`);
  if (!error.field.startsWith(root)) throw new Error(`field ${error.field} is not under ${root}`);
  const path = parsePath(error.field.slice(root.length));
  if (path.length === 0) {
    if (error.fixValue === 'remove') throw new Error(`cannot remove the root: ${error.message}`);
    return error.fixValue.value;
  }
  return setAt(value, path, error.fixValue);
}

function setAt(value: unknown, path: readonly (string | number)[], fix: InputError['fixValue']): unknown {
  const [key, ...rest] = path;
  const copy: Record<string | number, unknown> | unknown[] = Array.isArray(value)
    ? [...(value as unknown[])]
    : copyObject(typeof value === 'object' && value !== null ? value : {});
  const target = copy as Record<string | number, unknown>;
  if (rest.length > 0) {
    define(target, key!, setAt(target[key!], rest, fix));
    return copy;
  }
  if (fix === 'remove') {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete target[key!];
  } else define(target, key!, fix!.value);
  return copy;
}

/** A copy that does not read getters (one that throws may be the very field being fixed). */
function copyObject(value: object): Record<string, unknown> {
  const copy = {};
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(value)))
    Object.defineProperty(copy, key, { ...descriptor, configurable: true });
  return copy;
}

/** Own data property even for keys such as `__proto__`. */
function define(target: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `.a.b[3]["c d"]` → ['a', 'b', 3, 'c d']. */
export function parsePath(text: string): (string | number)[] {
  const path: (string | number)[] = [];
  const token = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let match: RegExpExecArray | null;
  while (token.lastIndex < text.length && (match = token.exec(text)) !== null) {
    if (match[1] !== undefined) path.push(match[1]);
    else if (match[2] !== undefined) path.push(Number(match[2]));
    else path.push(JSON.parse(match[3]!) as string);
  }
  if (token.lastIndex !== text.length) throw new Error(`cannot follow field path "${text}"`);
  return path;
}

/** Runs `attempt` and returns the InputError it throws or rejects with, or undefined when it is accepted. */
export async function rejection(attempt: () => unknown): Promise<InputError | undefined> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
}

/**
 * Applies the fix a `swarmlet run` refusal gives as text (`Fix: write --tick-ms 100`, `Fix: remove --set`,
 * `Fix: remove extra`) to its arguments. `takesValue` says which flags consume the next argument.
 */
export function applyCliFix(argv: readonly string[], message: string, takesValue: (flag: string) => boolean): string[] {
  const fix = /Fix: (write|remove) ("(?:[^"\\]|\\.)*"|\S+)(?: ("(?:[^"\\]|\\.)*"|\S+))?/.exec(message);
  if (!fix) throw new Error(`no applicable fix in: ${message}`);
  const [, verb, quotedName, raw] = fix;
  const unquote = (text: string | undefined) => (text?.startsWith('"') ? (JSON.parse(text) as string) : text);
  const name = unquote(quotedName);
  const value = unquote(raw);
  const at = (token: string) => token === name || token.startsWith(`${name}=`);
  const next = [...argv];
  if (verb === 'write') {
    const i = next.findLastIndex(at);
    if (i < 0) return [...next, name!, value!];
    if (next[i]!.includes('=')) next[i] = `${name}=${value}`;
    else next.splice(i + 1, 1, value!);
    return next;
  }
  if (!name!.startsWith('-')) {
    next.splice(next.lastIndexOf(name!), 1);
    return next;
  }
  for (let i = next.length - 1; i >= 0; i--)
    if (at(next[i]!)) next.splice(i, next[i]!.includes('=') || !takesValue(name!) ? 1 : 2);
  return next;
}
