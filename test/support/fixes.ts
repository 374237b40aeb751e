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
 * `Fix: remove extra`) to its arguments. `takesValue` says which flags consume the next argument (whatever it is,
 * as commander does: in `--tick-ms --json`, `--json` is the value).
 */
export function applyCliFix(argv: readonly string[], message: string, takesValue: (flag: string) => boolean): string[] {
  const fix = /Fix: (write|remove) ("(?:[^"\\]|\\.)*"|\S+)(?: ("(?:[^"\\]|\\.)*"|\S+))?/.exec(message);
  if (!fix) throw new Error(`no applicable fix in: ${message}`);
  const [, verb, quotedName, raw] = fix;
  const unquote = (text: string | undefined) => (text?.startsWith('"') ? (JSON.parse(text) as string) : text);
  const name = unquote(quotedName)!;
  const value = unquote(raw);
  const parts = tokenize(argv, takesValue);
  const next = [...argv];
  if (/^(?:swarmlet: )?argument "/.test(message)) {
    // A stray argument: a positional after the first (the job), not some flag's value.
    const stray = parts.filter((part) => part.kind === 'positional').slice(1);
    const at = stray.findLast((part) => argv[part.index] === name) ?? stray[stray.length - 1];
    if (!at) throw new Error(`no stray argument ${JSON.stringify(name)} in ${JSON.stringify(argv)}`);
    next.splice(at.index, 1);
    return next;
  }
  const flags = parts.filter(
    (part) => part.kind === 'flag' && (argv[part.index] === name || argv[part.index]!.startsWith(`${name}=`)),
  );
  if (verb === 'write') {
    const last = flags[flags.length - 1];
    if (!last) return [...next, name, value!];
    if (argv[last.index]!.includes('=')) next[last.index] = `${name}=${value}`;
    else if (last.width === 2) next[last.index + 1] = value!;
    else next.splice(last.index + 1, 0, value!);
    return next;
  }
  for (const part of flags.reverse()) next.splice(part.index, part.width);
  return next;
}

/**
 * How commander reads arguments: a flag that takes a value consumes the next argument, whatever it is, and after `--`
 * every argument is positional (as are `-` and negative numbers).
 */
function tokenize(
  argv: readonly string[],
  takesValue: (flag: string) => boolean,
): { kind: 'flag' | 'positional'; index: number; width: number }[] {
  const parts: { kind: 'flag' | 'positional'; index: number; width: number }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      for (let j = i + 1; j < argv.length; j++) parts.push({ kind: 'positional', index: j, width: 1 });
      break;
    }
    if (!token.startsWith('-') || token === '-' || /^-\d/.test(token))
      parts.push({ kind: 'positional', index: i, width: 1 });
    else if (!token.includes('=') && takesValue(token) && i + 1 < argv.length) {
      parts.push({ kind: 'flag', index: i, width: 2 });
      i += 1;
    } else parts.push({ kind: 'flag', index: i, width: 1 });
  }
  return parts;
}
