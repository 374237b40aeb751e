/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: families with their HELP and TYPE,
 * samples with unescaped label values. Throws, naming the line, on anything the format does not allow.
 */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface ExpositionFamily {
  readonly name: string;
  help?: string;
  type?: string;
  readonly samples: ExpositionSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

export function parseExposition(text: string): Map<string, ExpositionFamily> {
  const families = new Map<string, ExpositionFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { name, samples: [] }));
    return found;
  };
  text.split('\n').forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`exposition line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) fail('bad metric name');
      const f = family(name);
      if (f.samples.length > 0) fail(`${kind} after the family's samples`);
      if (kind === 'HELP') f.help = rest;
      else if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) f.type = rest;
      else fail('unknown type');
      return;
    }
    if (line.startsWith('#')) return;
    const sample = parseSample(line, fail);
    const owner = familyOf(sample.name, families) ?? fail('sample of no declared family');
    owner.samples.push(sample);
  });
  return families;
}

function familyOf(name: string, families: Map<string, ExpositionFamily>): ExpositionFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of HISTOGRAM_SUFFIXES) {
    const base = families.get(name.slice(0, -suffix.length));
    if (name.endsWith(suffix) && (base?.type === 'histogram' || base?.type === 'summary')) return base;
  }
  return undefined;
}

function parseSample(line: string, fail: (why: string) => never): ExpositionSample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? fail('no metric name');
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const labelName = /^[^=]*/.exec(line.slice(at))![0];
      if (!LABEL_NAME.test(labelName)) fail(`bad label name "${labelName}"`);
      at += labelName.length;
      if (line.slice(at, at + 2) !== '="') fail('label without ="');
      at += 2;
      let value = '';
      for (; line[at] !== '"'; at++) {
        if (at >= line.length) fail('unterminated label value');
        if (line[at] !== '\\') value += line[at];
        else {
          const escaped = line[++at];
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else fail('bad escape in label value');
        }
      }
      if (labelName in labels) fail(`label ${labelName} twice`);
      labels[labelName] = value;
      at += 1;
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail('labels not separated by ,');
    }
    at += 1;
  }
  const rest = line.slice(at).trim().split(/\s+/);
  if (line[at] !== ' ' || rest.length < 1 || rest.length > 2) fail('expected " value [timestamp]"');
  // As Go's ParseFloat reads it (Prometheus' parser): Inf and NaN in any case (prom-client writes "Nan").
  const text = rest[0]!.toLowerCase();
  const value = /^[+-]?inf$/.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number(rest[0]);
  if (Number.isNaN(value) && text !== 'nan') fail('value is not a number');
  return { name, labels, value };
}
