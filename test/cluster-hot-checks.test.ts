/**
 * The hand checks on the cluster's per-micro-task path accept nothing their schemas refuse, and accept the shapes the
 * cluster writes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isResultsEntry, isTaskPayload } from '../src/runtime/cluster/hot-checks.js';
import { logEntrySchema, taskPayloadSchema } from '../src/runtime/cluster/protocol.js';

const result = { id: 7, status: 'ok', value: { any: 'thing' }, durationUs: 12.5, attempt: 1 };
const entry = (results: unknown[], extra: Record<string, unknown> = {}) => ({
  kind: 'results',
  nodeId: 'n1',
  results,
  ...extra,
});
const payload = { mode: 0, input: [1, 2], depth: 0, deps: null, label: 't0' };

describe('isResultsEntry', () => {
  it.each([
    ['one ok result', entry([result]), true],
    [
      'split and dead',
      entry([
        { ...result, status: 'split' },
        { id: 8, status: 'dead', value: { message: 'x' }, durationUs: 0, attempt: 3 },
      ]),
      true,
    ],
    ['no value key (the schema wants it)', entry([{ id: 8, status: 'ok', durationUs: 0, attempt: 1 }]), false],
    ['no results', entry([]), true],
    ['a job entry (left to the schema)', { kind: 'job', jobKey: 'k', job: {}, modules: [] }, false],
    ['unknown status', entry([{ ...result, status: 'maybe' }]), false],
    ['fractional id', entry([{ ...result, id: 1.5 }]), false],
    ['negative duration', entry([{ ...result, durationUs: -1 }]), false],
    ['attempt 0', entry([{ ...result, attempt: 0 }]), false],
    ['id as text', entry([{ ...result, id: '7' }]), false],
    ['nodeId missing', { kind: 'results', results: [result] }, false],
    ['results not a list', entry({} as unknown as unknown[]), false],
    ['a result that is null', entry([null]), false],
  ])('%s: %s', (_, value, accepted) => {
    expect(isResultsEntry(value)).toBe(accepted);
    if (accepted) expect(logEntrySchema.safeParse(value).success).toBe(true);
  });

  it('never accepts what logEntrySchema refuses (random results)', () => {
    const anyResult = fc.record(
      {
        id: fc.oneof(fc.integer(), fc.double(), fc.string()),
        status: fc.constantFrom('ok', 'split', 'dead', 'done'),
        value: fc.anything(),
        durationUs: fc.oneof(fc.double({ noNaN: true }), fc.constant('1')),
        attempt: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.double()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(anyResult, { maxLength: 4 }), (results) => {
        const value = entry(results);
        if (isResultsEntry(value)) expect(logEntrySchema.safeParse(value).success).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('isTaskPayload', () => {
  it.each([
    ['a run', payload, true],
    ['a join with deps', { ...payload, mode: 1, depth: 2, deps: { left: [1], right: null } }, true],
    ['input null', { mode: 0, input: null, depth: 0, deps: null, label: '' }, true],
    ['no input key (the schema wants it)', { mode: 0, depth: 0, deps: null, label: '' }, false],
    ['unknown mode', { ...payload, mode: 2 }, false],
    ['negative depth', { ...payload, depth: -1 }, false],
    ['deps a list', { ...payload, deps: [1] }, false],
    ['label missing', { mode: 0, input: 1, depth: 0, deps: null }, false],
    ['with its job key', { ...payload, jobKey: 'job-1' }, true],
    ['a job key not text', { ...payload, jobKey: 7 }, false],
    ['not an object', 'payload', false],
  ])('%s: %s', (_, value, accepted) => {
    expect(isTaskPayload(value)).toBe(accepted);
    if (accepted) expect(taskPayloadSchema.safeParse(value).success).toBe(true);
  });

  it('never accepts what taskPayloadSchema refuses (random payloads)', () => {
    const anyPayload = fc.record(
      {
        mode: fc.constantFrom(0, 1, 2, '0'),
        input: fc.anything(),
        depth: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double()),
        deps: fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.anything()), fc.array(fc.anything())),
        label: fc.oneof(fc.string(), fc.integer()),
        jobKey: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(anyPayload, (value) => {
        if (isTaskPayload(value)) expect(taskPayloadSchema.safeParse(value).success).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
