/**
 * A small JSON Schema checker for what /openapi.json documents (objects, arrays, strings, numbers, enums, anyOf):
 * the contract tests check each answer against the document itself, not only against the zod schema it came from.
 * A keyword it does not know is an error, so a richer document cannot pass unchecked.
 */
type Schema = Record<string, unknown>;

const IGNORED = new Set(['$schema', 'description', 'default', 'title', 'examples']);

/** The problems of `value` against `schema`, each with its path; empty when it conforms. */
export function schemaProblems(schema: Schema, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  for (const [keyword, expected] of Object.entries(schema)) {
    if (IGNORED.has(keyword)) continue;
    const problem = check(keyword, expected, value, schema, path, problems);
    if (problem) problems.push(`${path}: ${problem}`);
  }
  return problems;
}

function check(keyword: string, expected: unknown, value: unknown, schema: Schema, path: string, out: string[]) {
  switch (keyword) {
    case 'type':
      return typeOk(expected as string, value) ? undefined : `not ${String(expected)}: ${JSON.stringify(value)}`;
    case 'properties':
      if (!isObject(value)) return undefined;
      for (const [key, sub] of Object.entries(expected as Record<string, Schema>))
        if (Object.hasOwn(value, key)) out.push(...schemaProblems(sub, value[key], `${path}.${key}`));
      return undefined;
    case 'required':
      if (!isObject(value)) return undefined;
      return (expected as string[]).filter((key) => !Object.hasOwn(value, key)).map((key) => `missing ${key}`)[0];
    case 'additionalProperties': {
      if (!isObject(value) || expected === true) return undefined;
      const known = Object.keys((schema.properties as object | undefined) ?? {});
      const extra = Object.keys(value).filter((key) => !known.includes(key));
      if (expected === false) return extra.length > 0 ? `unexpected ${extra.join(', ')}` : undefined;
      for (const key of extra) out.push(...schemaProblems(expected as Schema, value[key], `${path}.${key}`));
      return undefined;
    }
    case 'items':
      if (Array.isArray(value))
        value.forEach((item, i) => out.push(...schemaProblems(expected as Schema, item, `${path}[${i}]`)));
      return undefined;
    case 'minLength':
      return typeof value === 'string' && [...value].length < (expected as number)
        ? `shorter than ${String(expected)}`
        : undefined;
    case 'maxLength':
      return typeof value === 'string' && [...value].length > (expected as number)
        ? `longer than ${String(expected)}`
        : undefined;
    case 'pattern':
      return typeof value === 'string' && !new RegExp(expected as string, 'u').test(value)
        ? `does not match ${String(expected)}`
        : undefined;
    case 'minimum':
      return typeof value === 'number' && value < (expected as number) ? `below ${String(expected)}` : undefined;
    case 'maximum':
      return typeof value === 'number' && value > (expected as number) ? `above ${String(expected)}` : undefined;
    case 'enum':
      return (expected as unknown[]).includes(value) ? undefined : `not one of ${JSON.stringify(expected)}`;
    case 'const':
      return value === expected ? undefined : `not ${JSON.stringify(expected)}`;
    case 'anyOf':
    case 'oneOf': {
      const passing = (expected as Schema[]).filter((sub) => schemaProblems(sub, value, path).length === 0).length;
      if (passing === 0) return `matches none of ${keyword}`;
      return keyword === 'oneOf' && passing > 1 ? 'matches more than one of oneOf' : undefined;
    }
    default:
      return `the checker does not know the keyword ${keyword}`;
  }
}

function typeOk(type: string, value: unknown): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return isObject(value);
  if (type === 'null') return value === null;
  return typeof value === type;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
