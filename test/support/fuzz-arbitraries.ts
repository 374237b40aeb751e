import fc from 'fast-check';

/**
 * Arbitraries for the R5 fuzzer (test/chaos/fuzz-input.test.ts): job specs, Swarm options and `swarmlet run`
 * argument lists, mostly near the valid shape with one or more fields made bad, including values JSON cannot carry.
 */

/** Anything JavaScript has, JSON-hostile values included (BigInt, Map, Set, typed arrays, null prototypes…). */
const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 4,
  withBigInt: true,
  withMap: true,
  withSet: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
});

/** Values that used to crash or silently change on their way to a swarmlet. */
const hostile = fc.oneof(
  fc.bigInt(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, Symbol('s'), () => 1),
  fc.constant(null).map(() => throwingGetter()),
  fc.constant(null).map(() => circular()),
  fc.integer({ min: 1_001, max: 3_000 }).map((depth) => nested(depth)),
  fc.constant(null).map(() => ({ toJSON: () => 1n })),
);

export const input = fc.oneof({ weight: 4, arbitrary: anything }, { weight: 2, arbitrary: hostile }, fc.json());

function throwingGetter(): object {
  return Object.defineProperty({ a: 1 }, 'b', {
    enumerable: true,
    get() {
      throw new TypeError('getter failed');
    },
  });
}

function circular(): object {
  const value: Record<string, unknown> = { list: [1, 2] };
  (value.list as unknown[]).push(value);
  return value;
}

function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = { next: value };
  return value;
}

const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: good }, anything, hostile);
const taskType = maybe(fc.constantFrom('noop', 'noop', 'other', ''));
const id = maybe(fc.constantFrom('a', 'b', 'c', 'd'));

const dagTask = fc.record(
  {
    id,
    type: taskType,
    input,
    deps: maybe(fc.array(maybe(fc.constantFrom('a', 'b', 'c', 'd', 'x')), { maxLength: 3 })),
    extra: anything,
  },
  { requiredKeys: [] },
);

const sla = {
  priority: maybe(fc.constantFrom('low', 'normal', 'high', 'urgent')),
  owner: maybe(fc.string({ maxLength: 10 })),
  name: maybe(fc.string({ maxLength: 10 })),
  deadlineMs: maybe(fc.oneof(fc.integer({ min: -10, max: 10_000_000 }), fc.double())),
};

/** A job spec as a user (or a bug in their code) might submit it. */
export const jobSpec: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: taskType, input, ...sla }, { requiredKeys: ['type'] }) },
  {
    weight: 3,
    arbitrary: fc.record(
      { tasks: maybe(fc.array(maybe(dagTask), { minLength: 0, maxLength: 5 })), ...sla },
      { requiredKeys: ['tasks'] },
    ),
  },
  { weight: 1, arbitrary: fc.record({ type: taskType, tasks: fc.array(dagTask, { maxLength: 2 }), bogus: anything }) },
  { weight: 1, arbitrary: anything },
);

const smallInt = (min: number, max: number) => maybe(fc.integer({ min, max }));

/** Swarm.start options: the task module is fixed; everything else is fuzzed. */
export const swarmOptions = fc.record(
  {
    maxSwarmlets: smallInt(-1, 6),
    maxMemoryMb: maybe(fc.integer({ min: -10, max: 4_000 })),
    swarmletMemoryMb: maybe(fc.integer({ min: -10, max: 200 })),
    policy: maybe(
      fc.oneof(
        fc.constant('adaptive'),
        fc.constantFrom({ decide: 5 }, { name: 'p', initialState: 1, decide: () => null }),
        fc.record({
          static: fc.dictionary(fc.constantFrom('noop', 'other'), fc.oneof(fc.integer({ min: -1, max: 3 }), anything)),
        }),
      ),
    ),
    tickMs: smallInt(-5, 200),
    monitorIntervalMs: smallInt(0, 500),
    maxAttempts: smallInt(0, 5),
    taskTimeoutMs: smallInt(-1, 60_000),
    onRunaway: maybe(fc.constantFrom('alert', 'kill', 'isolate', 'panic')),
    admission: maybe(
      fc.oneof(fc.boolean(), fc.record({ low: fc.integer(), normal: fc.integer(), high: fc.integer() })),
    ),
    maxSplitDepth: smallInt(-1, 40),
    cacheDir: maybe(fc.constantFrom('.swarmlet/cache', '/etc/passwd', '/etc/passwd/sub', '', '/proc/x', '/sys/x/y')),
    moduleLoadTimeoutMs: smallInt(0, 20_000),
    sandbox: maybe(fc.constantFrom('auto', 'process', 'none', 'nope', '', 'AUTO')),
    bogusOption: anything,
  },
  { requiredKeys: [] },
);

const junk = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', '-1', '0', '4', '1e3', '2.5', '99999999999', 'NaN', '-', '--', 'ç', ' 7 ', '0x10'),
);
const valueFor: Record<string, fc.Arbitrary<string>> = {
  '--set': fc.oneof(fc.constantFrom('a=1', 'size=big', '=x', 'noequals', 'k=v=w'), junk),
  '--max-swarmlets': fc.oneof(fc.constantFrom('1', '2', '3', '4', '300'), junk),
  '--policy': fc.oneof(
    fc.constantFrom('adaptive', 'static:noop=1,square-sum=1', 'static:noop=0,square-sum=1', 'static:noop=2'),
    fc.constantFrom('static:', 'static:noop', 'static:ghost=1,noop=1,square-sum=1', 'static:noop=1,square-sum=x'),
    fc.constantFrom('static:noop=3,square-sum=3', 'fastest', 'static:nope=1', 'static:noop=1,noop=2,square-sum=1'),
    junk,
  ),
  '--tick-ms': fc.oneof(fc.constantFrom('0', '4', '5', '100', '60001'), junk),
  '--priority': fc.oneof(fc.constantFrom('low', 'normal', 'high', 'urgent'), junk),
  '--deadline': fc.oneof(fc.constantFrom('2s', '500ms', '1m', '0s', '9999h', '1.5m', 'soon'), junk),
  '--cache-dir': fc.constantFrom(
    '.swarmlet/cache',
    '/etc/passwd',
    '/etc/passwd/x',
    '.swarmlet/fuzz-cache',
    '/proc/x',
    '--json',
  ),
  '--history': fc.constantFrom(
    '.swarmlet/fuzz-history.json',
    '/etc/passwd/history.json',
    '--no-progress',
    '/etc',
    '/dev/null/x',
  ),
  '--prefix': junk,
  '--job-key': junk,
  '--sandbox': fc.oneof(fc.constantFrom('auto', 'bwrap', 'process', 'none', 'nope', '--json', 'AUTO'), junk),
};
const booleanFlags = ['--json', '--no-progress', '--no-history', '--bogus', '--jsn', '-x'];

/** One flag of `swarmlet run`, with a value where it takes one (and sometimes a stray value where it does not). */
const flag = fc.oneof(
  fc
    .constantFrom(...Object.keys(valueFor))
    .chain((name) =>
      fc.oneof(
        { weight: 8, arbitrary: valueFor[name]!.map((value) => [name, value]) },
        { weight: 1, arbitrary: fc.constant([name]) },
        { weight: 1, arbitrary: valueFor[name]!.map((value) => [`${name}=${value}`]) },
      ),
    ),
  fc
    .constantFrom(...booleanFlags)
    .chain((name) =>
      fc.oneof(
        { weight: 5, arbitrary: fc.constant([name]) },
        { weight: 1, arbitrary: junk.map((value) => [name, value]) },
      ),
    ),
);

/** `swarmlet run` arguments (without `run`): a job (usually a real one) and a few flags. */
export function runArguments(job: string): fc.Arbitrary<string[]> {
  const target = fc.oneof(
    { weight: 8, arbitrary: fc.constant([job]) },
    { weight: 1, arbitrary: fc.constant(['examples/nowhere']) },
    { weight: 1, arbitrary: fc.constant([]) },
  );
  return fc
    .tuple(target, fc.array(flag, { maxLength: 4 }), fc.boolean())
    .map(([first, flags, quiet]) => [...first, ...(quiet ? ['--no-progress'] : []), ...flags.flat()]);
}
