import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateDag, type DagNode } from '../src/core/dag.js';
import { InputError } from '../src/core/errors.js';

const TYPES = new Set(['hash', 'compress']);

function node(id: string, deps: string[] = [], type = 'hash'): DagNode {
  return { id, type, deps };
}

function expectTopological(nodes: readonly DagNode[], order: readonly string[]): void {
  expect([...order].sort()).toEqual(nodes.map((n) => n.id).sort());
  const position = new Map(order.map((id, i) => [id, i]));
  for (const n of nodes)
    for (const dep of n.deps) expect(position.get(dep)!, `${dep} before ${n.id}`).toBeLessThan(position.get(n.id)!);
}

function inputError(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

describe('validateDag: valid DAGs', () => {
  const cases: { name: string; nodes: DagNode[] }[] = [
    { name: 'empty', nodes: [] },
    { name: 'single node', nodes: [node('a')] },
    { name: 'chain declared backwards', nodes: [node('c', ['b']), node('b', ['a']), node('a')] },
    { name: 'diamond', nodes: [node('d', ['b', 'c']), node('b', ['a']), node('c', ['a'], 'compress'), node('a')] },
    { name: 'independent roots and a sink', nodes: [node('x'), node('y'), node('z'), node('sink', ['z', 'x', 'y'])] },
  ];
  it.each(cases)('$name: every node comes after its deps', ({ nodes }) => {
    expectTopological(nodes, validateDag(nodes, TYPES, 'job.tasks'));
  });

  it('random DAGs in any declaration order come back topologically sorted', () => {
    const dag = fc
      .integer({ min: 1, max: 30 })
      .chain((size) =>
        fc.tuple(
          fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: size, maxLength: size }),
          fc.shuffledSubarray([...Array(size).keys()], { minLength: size, maxLength: size }),
        ),
      )
      .map(([depPicks, permutation]) => {
        // node i may only depend on nodes j < i, which makes it acyclic; then shuffle declaration order
        const nodes = depPicks.map((picks, i) =>
          node(`n${i}`, i === 0 ? [] : [...new Set(picks.map((p) => `n${p % i}`))]),
        );
        return permutation.map((i) => nodes[i]!);
      });
    fc.assert(fc.property(dag, (nodes) => expectTopological(nodes, validateDag(nodes, TYPES, 'job.tasks'))));
  });
});

describe('validateDag: rejected inputs name the field', () => {
  const cases: { name: string; nodes: DagNode[]; field: string; mentions: string[] }[] = [
    {
      name: 'duplicate id',
      nodes: [node('a'), node('b'), node('a')],
      field: 'job.tasks[2].id',
      mentions: ['duplicate', '"a"', 'unique'],
    },
    {
      name: 'unknown type',
      nodes: [node('a'), node('b', [], 'resize')],
      field: 'job.tasks[1].type',
      mentions: ['"resize"', 'compress, hash'],
    },
    {
      name: 'missing dependency',
      nodes: [node('a'), node('b', ['nope'])],
      field: 'job.tasks[1].deps[0]',
      mentions: ['"nope"'],
    },
    {
      name: 'second dependency missing',
      nodes: [node('a'), node('b', ['a', 'ghost'])],
      field: 'job.tasks[1].deps[1]',
      mentions: ['"ghost"'],
    },
  ];
  it.each(cases)('$name → $field', ({ nodes, field, mentions }) => {
    const error = inputError(() => validateDag(nodes, TYPES, 'job.tasks'));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    for (const text of mentions) expect(error.message).toContain(text);
    expect(error.fix.length).toBeGreaterThan(0);
  });

  it('says "(none)" when no task types are registered', () => {
    expect(inputError(() => validateDag([node('a')], new Set(), 'job')).message).toContain('(none)');
  });
});

describe('validateDag: cycles', () => {
  /** Pulls `a → b → a` out of the message and checks it is a closed walk along real dependency edges. */
  function cycleIn(error: InputError, nodes: readonly DagNode[]): string[] {
    const match = /dependency cycle (.+?)\. Fix:/.exec(error.message);
    expect(match, error.message).not.toBeNull();
    const path = match![1]!.split(' → ');
    expect(path.length).toBeGreaterThanOrEqual(2); // `b → b` for a self loop
    expect(path[0]).toBe(path[path.length - 1]);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (let i = 0; i + 1 < path.length; i++) {
      const from = byId.get(path[i]!)!;
      expect(from.deps, `${path[i]} → ${path[i + 1]} is an edge`).toContain(path[i + 1]);
    }
    return [...new Set(path)].sort();
  }

  const cases: { name: string; nodes: DagNode[]; cycle: string[] }[] = [
    { name: '2-cycle', nodes: [node('a', ['b']), node('b', ['a'])], cycle: ['a', 'b'] },
    { name: '3-cycle', nodes: [node('a', ['c']), node('b', ['a']), node('c', ['b'])], cycle: ['a', 'b', 'c'] },
    { name: 'self loop', nodes: [node('a'), node('b', ['b'])], cycle: ['b'] },
    {
      name: 'cycle behind a valid prefix and with a dependent tail',
      nodes: [node('root'), node('tail', ['x']), node('x', ['root', 'z']), node('y', ['x']), node('z', ['y'])],
      cycle: ['x', 'y', 'z'],
    },
  ];
  it.each(cases)('$name: names the field and the cycle path', ({ nodes, cycle }) => {
    const error = inputError(() => validateDag(nodes, TYPES, 'job.tasks'));
    // The field is the dependency that closes the cycle; removing it (the fix) breaks the cycle.
    const [, from, dep] = /^job\.tasks\[(\d+)\]\.deps\[(\d+)\]$/.exec(error.field) ?? [];
    expect(error.field).toMatch(/^job\.tasks\[\d+\]\.deps\[\d+\]$/);
    expect(error.fixValue).toBe('remove');
    const cut = nodes.map((n, i) =>
      i === Number(from) ? { ...n, deps: n.deps.filter((_, j) => j !== Number(dep)) } : n,
    );
    expect(nodes[Number(from)]!.deps[Number(dep)]).toBeDefined();
    expect(error.message).toContain('cycle');
    expect(cycleIn(error, nodes)).toEqual(cycle);
    expect(() => validateDag(cut, TYPES, 'job.tasks')).not.toThrow();
  });
});
