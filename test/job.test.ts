import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { parseJob, priorityValue } from '../src/core/job.js';

function rejected(raw: unknown): InputError {
  try {
    parseJob(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error(`expected parseJob to reject ${JSON.stringify(raw)}`);
}

describe('parseJob: accepted shapes', () => {
  it('fills defaults for a single job { type, input }', () => {
    expect(parseJob({ type: 'hash', input: { n: 3 } })).toEqual({
      type: 'hash',
      input: { n: 3 },
      priority: 'normal',
      owner: 'default',
    });
  });

  it('fills defaults for a DAG job, including empty deps', () => {
    const job = parseJob({
      tasks: [
        { id: 'a', type: 'hash', input: 1 },
        { id: 'b', type: 'compress', input: null, deps: ['a'] },
      ],
    });
    expect(job).toEqual({
      tasks: [
        { id: 'a', type: 'hash', input: 1, deps: [] },
        { id: 'b', type: 'compress', input: null, deps: ['a'] },
      ],
      priority: 'normal',
      owner: 'default',
    });
  });

  it('allows leaving the input out (a task that needs none, or only its deps)', () => {
    expect(parseJob({ type: 'tick' })).toMatchObject({ type: 'tick', priority: 'normal', owner: 'default' });
    expect(parseJob({ tasks: [{ id: 'a', type: 'hash' }] })).toMatchObject({
      tasks: [{ id: 'a', type: 'hash', deps: [] }],
    });
  });

  it('keeps an explicit priority and owner', () => {
    const job = parseJob({ type: 'hash', input: 'x', priority: 'high', owner: 'alice' });
    expect(job.priority).toBe('high');
    expect(job.owner).toBe('alice');
  });

  it.each([
    ['low', 0],
    ['normal', 1],
    ['high', 2],
  ] as const)('priority %s ranks as %i', (priority, value) => {
    expect(priorityValue(parseJob({ type: 'hash', input: 0, priority }))).toBe(value);
  });

  it('orders priorities low < normal < high', () => {
    const rank = (priority: 'low' | 'normal' | 'high'): number =>
      priorityValue(parseJob({ type: 't', input: 0, priority }));
    expect(rank('low')).toBeLessThan(rank('normal'));
    expect(rank('normal')).toBeLessThan(rank('high'));
  });
});

describe('parseJob: rejected shapes name the field', () => {
  const cases: { name: string; raw: unknown; field: string; mentions: RegExp }[] = [
    { name: 'null', raw: null, field: 'job', mentions: /object/ },
    { name: 'a number', raw: 42, field: 'job', mentions: /object/ },
    { name: 'nothing at all', raw: undefined, field: 'job', mentions: /missing/ },
    { name: 'empty object', raw: {}, field: 'job.type', mentions: /missing/ },
    { name: 'empty type', raw: { type: '', input: 1 }, field: 'job.type', mentions: />=1/ },
    {
      name: 'unknown priority',
      raw: { type: 'hash', input: 1, priority: 'urgent' },
      field: 'job.priority',
      mentions: /low|normal|high/,
    },
    { name: 'empty owner', raw: { type: 'hash', input: 1, owner: '' }, field: 'job.owner', mentions: />=1/ },
    {
      name: 'unknown top-level key',
      raw: { type: 'hash', input: 1, retries: 3 },
      field: 'job.retries',
      mentions: /not a known field/,
    },
    { name: 'tasks not an array', raw: { tasks: 'a,b' }, field: 'job.tasks', mentions: /array/ },
    { name: 'no tasks', raw: { tasks: [] }, field: 'job.tasks', mentions: />=1/ },
    {
      name: 'task without id',
      raw: { tasks: [{ type: 'hash', input: 1 }] },
      field: 'job.tasks[0].id',
      mentions: /missing/,
    },
    {
      name: 'second task has a numeric type',
      raw: {
        tasks: [
          { id: 'a', type: 'hash', input: 1 },
          { id: 'b', type: 5, input: 1 },
        ],
      },
      field: 'job.tasks[1].type',
      mentions: /string/,
    },
    {
      name: 'deps not an array',
      raw: { tasks: [{ id: 'a', type: 'hash', input: 1, deps: 'b' }] },
      field: 'job.tasks[0].deps',
      mentions: /array/,
    },
    {
      name: 'non-string dep',
      raw: { tasks: [{ id: 'a', type: 'hash', input: 1, deps: ['x', 7] }] },
      field: 'job.tasks[0].deps[1]',
      mentions: /string/,
    },
    // a typo such as `dep` must not be dropped silently: the task would run without its dependency
    {
      name: 'misspelt deps',
      raw: {
        tasks: [
          { id: 'a', type: 'hash', input: 1 },
          { id: 'b', type: 'hash', input: 1, dep: ['a'] },
        ],
      },
      field: 'job.tasks[1].dep',
      mentions: /not a known field/,
    },
    {
      name: 'both shapes at once',
      raw: { type: 'hash', input: 1, tasks: [{ id: 'a', type: 'hash', input: 1 }] },
      field: 'job.type',
      mentions: /not a known field/,
    },
  ];

  it.each(cases)('$name → $field', ({ raw, field, mentions }) => {
    const error = rejected(raw);
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toMatch(mentions);
    expect(error.fix).toContain('{ type, input }');
    expect(error.fix).toContain('{ tasks:');
  });

  it('never reports zod internals such as "nonoptional"', () => {
    for (const { raw } of cases) expect(rejected(raw).message).not.toMatch(/nonoptional/);
  });
});
