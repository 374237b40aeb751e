import { describe, expect, it } from 'vitest';
import { BundleRefusals, refusedEverywhereMessage } from '../src/runtime/cluster/bundle-refusals.js';

const refusal = (nodeId: string, hash = 'h1', taskType = 'sort') => ({
  nodeId,
  taskType,
  hash,
  reason: `${nodeId} does not trust it`,
});

describe('bundle refusals: a job fails only once every live agent refused its bundle', () => {
  it('one refusal among live nodes is a filter, not a verdict; all of them is the verdict, in node order', () => {
    const refusals = new BundleRefusals();
    refusals.record(refusal('b'));
    expect(refusals.refusers('sort', 'h1')).toEqual(new Map([['b', 'b does not trust it']]));
    expect(refusals.refusedByEveryLiveNode('sort', 'h1', ['a', 'b'])).toBeUndefined();
    refusals.record(refusal('a'));
    expect(refusals.refusedByEveryLiveNode('sort', 'h1', ['b', 'a'])).toEqual([
      { nodeId: 'a', reason: 'a does not trust it' },
      { nodeId: 'b', reason: 'b does not trust it' },
    ]);
  });

  it('no live node is no verdict (a job waits for agents); another hash or type is another bundle', () => {
    const refusals = new BundleRefusals();
    refusals.record(refusal('a'));
    expect(refusals.refusedByEveryLiveNode('sort', 'h1', [])).toBeUndefined();
    expect(refusals.refusedByEveryLiveNode('sort', 'h2', ['a'])).toBeUndefined();
    expect(refusals.refusedByEveryLiveNode('merge', 'h1', ['a'])).toBeUndefined();
    expect(refusals.refusers('sort', undefined).size).toBe(0);
  });

  it('a node that is no longer live, and a new job of the type, are forgotten: asked again', () => {
    const refusals = new BundleRefusals();
    refusals.record(refusal('a'));
    refusals.record(refusal('b'));
    refusals.record(refusal('a', 'h9', 'merge'));
    refusals.forgetExcept(new Set(['b']));
    expect([...refusals.refusers('sort', 'h1').keys()]).toEqual(['b']);
    expect(refusals.refusers('merge', 'h9').size).toBe(0);
    refusals.forgetType('sort');
    expect(refusals.refusers('sort', 'h1').size).toBe(0);
  });

  it('the message names the type, the bundle and each agent with its reason', () => {
    expect(
      refusedEverywhereMessage('sort', 'h1', [
        { nodeId: 'a', reason: 'it is unsigned. Fix: sign it' },
        { nodeId: 'b', reason: 'x' },
      ]),
    ).toBe('task type "sort": bundle h1 refused by agent a: it is unsigned. Fix: sign it; refused by agent b: x');
  });
});
