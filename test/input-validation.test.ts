import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, TaskModuleError } from '../src/core/errors.js';
import { parseJob } from '../src/core/job.js';
import { Swarm } from '../src/swarm.js';
import { applyFix, rejection } from './support/fixes.js';

// Input that used to reach code unchecked (issue 11, item 6): every rejection is an InputError that
// names the field and the bad value, and its fix, applied, is accepted.
const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const throwingGetter = Object.defineProperty({}, 'secret', {
  enumerable: true,
  get() {
    throw new TypeError('no access');
  },
});
let deep: unknown = 1;
for (let i = 0; i < 5_000; i++) deep = [deep];

const badInputs: { name: string; input: unknown; field: RegExp; mentions: RegExp }[] = [
  { name: 'a BigInt', input: { n: 12n }, field: /^job\.input\.n$/, mentions: /BigInt \(12n\)/ },
  { name: 'a huge BigInt', input: [2n ** 80n], field: /^job\.input\[0\]$/, mentions: /BigInt/ },
  { name: 'a cycle', input: circular, field: /^job\.input\.self$/, mentions: /cycle/ },
  { name: 'a function', input: { run: () => 1 }, field: /^job\.input\.run$/, mentions: /function/ },
  { name: 'a symbol', input: Symbol('s'), field: /^job\.input$/, mentions: /symbol/ },
  { name: 'a Map', input: { m: new Map([['k', 1]]) }, field: /^job\.input\.m$/, mentions: /Map of 1/ },
  {
    name: 'a Map keyed by an object without toString',
    input: new Map([[Object.create(null) as object, 1]]),
    field: /^job\.input$/,
    mentions: /Map of 1/,
  },
  { name: 'a Set', input: new Set([1, 2]), field: /^job\.input$/, mentions: /Set of 2/ },
  { name: 'NaN', input: { x: [Number.NaN] }, field: /^job\.input\.x\[0\]$/, mentions: /NaN/ },
  { name: 'a getter that throws', input: throwingGetter, field: /^job\.input\.secret$/, mentions: /no access/ },
  {
    name: 'a toJSON that throws',
    input: {
      toJSON: () => {
        throw new Error('nope');
      },
    },
    field: /^job\.input$/,
    mentions: /nope/,
  },
  { name: 'nesting 5,000 deep', input: deep, field: /^job\.input(\[0\])+$/, mentions: /deeper than 1000/ },
  { name: 'an odd key', input: { 'a b': 5n }, field: /^job\.input\["a b"\]$/, mentions: /BigInt/ },
];

describe('parseJob: inputs JSON cannot carry', () => {
  it.each(badInputs)(
    '$name → an InputError naming $field whose fix is accepted',
    async ({ input, field, mentions }) => {
      const job = { type: 'noop', input };
      const error = (await rejection(() => parseJob(job)))!;
      expect(error).toBeInstanceOf(InputError);
      expect(error.field).toMatch(field);
      expect(error.message).toMatch(mentions);
      expect(error.message).toContain('Fix: ');
      expect(() => parseJob(applyFix(job, error, 'job'))).not.toThrow();
    },
  );

  it('accepts what JSON carries as it is: dates, shared (not circular) objects, undefined fields', () => {
    const shared = { x: 1 };
    const input = { when: new Date(0), a: shared, b: shared, gone: undefined, list: [1, 'two', null, true] };
    expect(parseJob({ type: 'noop', input })).toMatchObject({ type: 'noop', input });
  });

  it('a job spec with a BigInt or a cycle outside its input is refused the same way', async () => {
    const job: Record<string, unknown> = { type: 'noop', deadlineMs: 10n };
    expect((await rejection(() => parseJob(job)))!.field).toBe('job.deadlineMs');
    const tasks: unknown[] = [];
    tasks.push({ id: 'a', type: 'noop', deps: tasks });
    expect((await rejection(() => parseJob({ tasks })))!.field).toBe('job.tasks[0].deps');
  });

  it.each([
    [{ type: 'noop', priority: 'urgent' }, 'job.priority', '"urgent"'],
    [{ type: 'noop', owner: 42 }, 'job.owner', '42'],
    [{ tasks: [{ id: 'a', type: 'noop', deps: 'b' }] }, 'job.tasks[0].deps', '"b"'],
    [7, 'job', '7'],
  ])('names the bad value of a bad shape (%j) and gives a fix that is accepted', async (job, field, value) => {
    const error = (await rejection(() => parseJob(job)))!;
    expect(error.field).toBe(field);
    expect(error.message).toContain(`got ${value}`);
    expect(() => parseJob(applyFix(job, error, 'job'))).not.toThrow();
  });
});

describe('Swarm.run: every rejection is an InputError with a fix that is accepted', () => {
  let swarm: Swarm;
  beforeAll(async () => {
    swarm = await Swarm.start({ tasks: ['test/fixtures/noop.task.ts'], maxSwarmlets: 1 });
  });
  afterAll(() => swarm.stop());

  it.each([
    ['a BigInt input', { type: 'noop', input: { n: 1n } }],
    ['a circular input', { type: 'noop', input: circular }],
    ['an unknown type', { type: 'nope', input: 1 }],
    ['an unknown type in a DAG', { tasks: [{ id: 'a', type: 'nope' }] }],
    [
      'a duplicate id',
      {
        tasks: [
          { id: 'a', type: 'noop' },
          { id: 'a', type: 'noop' },
        ],
      },
    ],
    ['a missing dependency', { tasks: [{ id: 'a', type: 'noop', deps: ['b'] }] }],
    [
      'a cycle',
      {
        tasks: [
          { id: 'a', type: 'noop', deps: ['b'] },
          { id: 'b', type: 'noop', deps: ['a'] },
        ],
      },
    ],
    ['no job at all', undefined],
  ])('%s', async (_, job) => {
    const error = await rejection(() => swarm.run(job as never));
    expect(error).toBeInstanceOf(InputError);
    await expect(swarm.run(applyFix(job, error!, 'job') as never)).resolves.not.toThrow();
  });
});

describe('Swarm.run: any micro-task id keeps its output (`__proto__` used to resolve to {})', () => {
  let swarm: Swarm;
  beforeAll(async () => {
    swarm = await Swarm.start({ tasks: ['test/fixtures/noop.task.ts', 'test/fixtures/deps.task.ts'], maxSwarmlets: 1 });
  });
  afterAll(() => swarm.stop());

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('id %s', async (id) => {
    const output = (await swarm.run({ tasks: [{ id, type: 'noop', input: 1 }] })) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(output, id)?.value).toBe(1);
    expect(JSON.parse(JSON.stringify(output))).toEqual(JSON.parse(`{${JSON.stringify(id)}:1}`));
    const deps = (await swarm.run({
      tasks: [
        { id, type: 'noop', input: 2 },
        { id: 'sink', type: 'deps', deps: [id] },
      ],
    })) as { sink: Record<string, unknown> };
    expect(Object.getOwnPropertyDescriptor(deps.sink, id)?.value).toBe(2);
  });
});

describe('Swarm.start: options refused up front, with a fix that is accepted', () => {
  const noop = 'test/fixtures/noop.task.ts';
  it.each([
    [
      'a static split of an unknown type',
      { tasks: [noop], policy: { static: { noop: 1, other: 1 } } },
      /static\.other$/,
    ],
    [
      'a static split over maxSwarmlets',
      { tasks: [noop], maxSwarmlets: 2, policy: { static: { noop: 3 } } },
      /maxSwarmlets$/,
    ],
    ['a cache directory that is a file', { tasks: [noop], cacheDir: '/etc/passwd' }, /cacheDir$/],
    // '' would resolve to the working directory and scatter compiled modules there.
    ['an empty cache directory', { tasks: [noop], cacheDir: '' }, /cacheDir$/],
    ['tickMs 0', { tasks: [noop], tickMs: 0 }, /tickMs$/],
    ['a Policy whose decide is not a function', { tasks: [noop], policy: { decide: 5 } }, /policy$/],
    ['a Policy without a name', { tasks: [noop], policy: { initialState: () => null, decide: () => null } }, /policy$/],
    ['a history file that is a directory', { tasks: [noop], historyFile: '/etc' }, /historyFile$/],
    // Node's recursive mkdir never returned on /proc; /sys and /dev hold kernel objects, not a cache.
    ['a cache directory in /proc', { tasks: [noop], cacheDir: '/proc/x' }, /cacheDir$/],
    ['a cache directory in /proc/self', { tasks: [noop], cacheDir: '/proc/self/x/y' }, /cacheDir$/],
    ['a cache directory in /sys', { tasks: [noop], cacheDir: '/sys/x' }, /cacheDir$/],
    ['a cache directory in /dev', { tasks: [noop], cacheDir: '/dev/swarmlet-cache-test' }, /cacheDir$/],
    ['an unknown option', { tasks: [noop], ticks: 5 }, /ticks$/],
    ['a BigInt option', { tasks: [noop], maxAttempts: 3n }, /maxAttempts$/],
    ['an unknown sandbox', { tasks: [noop], sandbox: 'nope' }, /sandbox$/],
    ['a sandbox that is not a string', { tasks: [noop], sandbox: 5 }, /sandbox$/],
  ])('%s', async (_, options, field) => {
    const error = (await rejection(() => Swarm.start(options as never)))!;
    expect(error).toBeInstanceOf(InputError);
    expect(error.field).toMatch(field);
    expect(error.message).not.toMatch(/EEXIST|undefined|unexpected/);
    const swarm = await Swarm.start(applyFix(options, error, 'Swarm options') as never);
    await swarm.stop();
  });
});

describe('Swarm.run under a static split: a job needing a type the split runs no swarmlet of', () => {
  it.each([
    [
      'gives the type 0',
      { noop: 0, 'square-sum': 1 },
      { type: 'noop', input: 1 },
      /^Swarm options\.policy\.static\.noop$/,
    ],
    [
      'leaves the type out',
      { noop: 1 },
      {
        tasks: [
          { id: 'a', type: 'noop' },
          { id: 'b', type: 'square-sum', input: { from: 0, to: 3 } },
        ],
      },
      /^Swarm options\.policy\.static\["square-sum"\]$/,
    ],
  ])(
    '%s: the job is refused (it used to wait forever), and the fix to the split runs it',
    async (_, split, job, field) => {
      const options = {
        tasks: ['test/fixtures/noop.task.ts', 'test/fixtures/square.task.ts'],
        policy: { static: split },
      };
      let swarm = await Swarm.start(options);
      const error = await rejection(() => swarm.run(job));
      await swarm.stop();
      expect(error).toBeInstanceOf(InputError);
      expect(error!.field).toMatch(field);
      expect(error!.message).toMatch(/would never run\. Fix: give .* at least 1 swarmlet/);
      swarm = await Swarm.start(applyFix(options, error!, 'Swarm options') as never);
      await expect(swarm.run(job)).resolves.toBeDefined();
      await swarm.stop();
    },
  );
});
describe('a split that makes micro-tasks of a type the static split runs no swarmlet of', () => {
  it('fails its job (it used to wait forever); other jobs go on; the fix to the split runs it', async () => {
    const options = {
      tasks: ['test/fixtures/fanout.task.ts', 'test/fixtures/noop.task.ts'],
      policy: { static: { fanout: 1, noop: 0 } },
    };
    const job = { type: 'fanout', input: { count: 3, childType: 'noop', childInput: 1 } };
    let swarm = await Swarm.start(options);
    const error = await rejection(() => swarm.run(job));
    await swarm.stop();
    expect(error).toBeInstanceOf(InputError);
    expect(error!.field).toBe('Swarm options.policy.static.noop');
    expect(error!.message).toMatch(/a split made a noop micro-task: it would never run/);
    swarm = await Swarm.start(applyFix(options, error!, 'Swarm options') as never);
    await expect(swarm.run(job)).resolves.toHaveLength(3);
    await swarm.stop();
  });
});

describe('Swarm.start: task modules are loaded with a bounded time, and a failure names the module', () => {
  it.each([
    ['calls process.exit at import', 'exits-on-import', /exits-on-import\.task\.ts.*process\.exit\(0\)/],
    ['loops for 20 s at import', 'loops-on-import', /loops-on-import\.task\.ts.*within 1 s/],
    ['throws at import', 'throws-on-import', /throws-on-import\.task\.ts.*database URL not configured/],
  ])('a module that %s is refused with a TaskModuleError, in bounded time', async (_, name, message) => {
    const startedMs = performance.now();
    const tasks = ['test/fixtures/noop.task.ts', `test/fixtures/${name}.task.ts`];
    const error = await Swarm.start({ tasks, moduleLoadTimeoutMs: 1_000 }).then(
      (swarm) => swarm.stop().then(() => undefined),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(TaskModuleError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/Fix: /);
    expect(performance.now() - startedMs).toBeLessThan(8_000);
  });
});

describe('Swarm.start: a task type asking its sandbox for a permission that does not exist', () => {
  it("is refused naming permissions, with a fix that is accepted (permissions: ['network'], or none)", async () => {
    const source = 'test/fixtures/root-permission.task.ts';
    const error = await Swarm.start({ tasks: [source], sandbox: 'process' }).then(
      (swarm) => swarm.stop().then(() => undefined),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(TaskModuleError);
    expect((error as Error).message).toMatch(
      /root-permission\.task\.ts: permissions = \["root"\] is not a list of known permissions\. Fix: permissions: \['network'\] \(or leave it out\)/,
    );
    const code = readFileSync(source, 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-permissions-'));
    for (const [name, fixed] of [
      ['network', code.replace("permissions: ['root'],", "permissions: ['network'],")],
      ['left-out', code.replace("  permissions: ['root'],\n", '')],
    ] as const) {
      expect(fixed).not.toContain("'root'");
      const path = join(dir, `${name}.task.ts`);
      writeFileSync(path, fixed);
      const swarm = await Swarm.start({ tasks: [path], sandbox: 'process' });
      try {
        expect(await swarm.run({ type: 'root-permission', input: null })).toBe('ran');
      } finally {
        await swarm.stop();
      }
    }
  });
});
