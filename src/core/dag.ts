import { InputError } from './errors.js';

/** One node of a micro-task DAG as a user (or a split) declares it. */
export interface DagNode {
  readonly id: string;
  readonly type: string;
  readonly deps: readonly string[];
}

/**
 * Checks a DAG before anything runs: unique ids, known task types, existing dependencies and no
 * cycles. `field` prefixes error messages so they point at the user's input (e.g. `tasks`).
 * Returns the ids in a topological order.
 */
export function validateDag(nodes: readonly DagNode[], knownTypes: ReadonlySet<string>, field: string): string[] {
  const { order } = checkDag(nodes, knownTypes, field);
  return Array.from(order, (i) => nodes[i]!.id);
}

/** The same checks; returns each id's position in `nodes` (and a topological order of positions). */
export function checkDag(
  nodes: readonly DagNode[],
  knownTypes: ReadonlySet<string>,
  field: string,
): { index: Map<string, number>; order: Int32Array } {
  const index = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (index.has(node.id)) {
      throw new InputError(
        `${field}[${i}].id`,
        `duplicate micro-task id "${node.id}"`,
        `give every micro-task a unique id, e.g. "${node.id}-${i}"`,
        { value: `${node.id}-${i}` },
      );
    }
    index.set(node.id, i);
    if (!knownTypes.has(node.type)) throw unknownTaskType(`${field}[${i}].type`, node.type, knownTypes);
  }
  let edges = 0;
  for (let i = 0; i < nodes.length; i++) {
    const deps = nodes[i]!.deps;
    for (let j = 0; j < deps.length; j++) {
      if (!index.has(deps[j]!)) {
        throw new InputError(
          `${field}[${i}].deps[${j}]`,
          `depends on missing micro-task "${deps[j]}"`,
          'add that micro-task or remove the dependency',
          'remove',
        );
      }
    }
    edges += deps.length;
  }
  return { index, order: topologicalOrder(nodes, index, edges, field) };
}

/** A micro-task of a type no module defines; the fix names the known types (and gives the first as the value). */
export function unknownTaskType(field: string, type: string, knownTypes: ReadonlySet<string>): InputError {
  const known = [...knownTypes].sort();
  return new InputError(
    field,
    `unknown task type "${type}"`,
    `use one of: ${known.join(', ') || '(none)'}, or register the task module`,
    known.length > 0 ? { value: known[0] } : undefined,
  );
}

/** Kahn's algorithm over a compact (CSR) dependents table: large flat DAGs stay cheap. */
function topologicalOrder(
  nodes: readonly DagNode[],
  index: Map<string, number>,
  edges: number,
  field: string,
): Int32Array {
  const count = nodes.length;
  const remaining = new Int32Array(count);
  const start = new Int32Array(count + 1);
  const depIndex = new Int32Array(edges);
  let e = 0;
  for (let i = 0; i < count; i++) {
    const deps = nodes[i]!.deps;
    remaining[i] = deps.length;
    for (const dep of deps) {
      const d = index.get(dep)!;
      depIndex[e++] = d;
      start[d + 1]! += 1;
    }
  }
  for (let i = 0; i < count; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, count);
  const dependents = new Int32Array(edges);
  e = 0;
  for (let i = 0; i < count; i++)
    for (let k = 0; k < nodes[i]!.deps.length; k++) dependents[fill[depIndex[e++]!]!++] = i;
  const order = new Int32Array(count);
  let placed = 0;
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (remaining[i] === 0) ready.push(i);
  while (ready.length > 0) {
    const i = ready.pop()!;
    order[placed++] = i;
    for (let k = start[i]!; k < start[i + 1]!; k++) if (--remaining[dependents[k]!]! === 0) ready.push(dependents[k]!);
  }
  if (placed < count) {
    const cycle = findCycle(nodes, index, remaining);
    // Name the edge that closes the cycle: removing it is a fix that applies as it is.
    const from = index.get(cycle[cycle.length - 2]!)!;
    const dep = nodes[from]!.deps.indexOf(cycle[cycle.length - 1]!);
    throw new InputError(
      `${field}[${from}].deps[${dep}]`,
      `dependency cycle ${cycle.join(' → ')}`,
      'remove one of these dependencies so the micro-tasks form a DAG, e.g. this one',
      'remove',
    );
  }
  return order;
}

/** Walks dependencies among the nodes left over by Kahn's algorithm until one repeats. */
function findCycle(nodes: readonly DagNode[], index: Map<string, number>, remaining: Int32Array): string[] {
  let current = remaining.findIndex((count) => count > 0);
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(current)) {
    seen.set(current, path.length);
    path.push(current);
    const next = nodes[current]!.deps.map((dep) => index.get(dep)!).find((i) => remaining[i]! > 0);
    current = next!;
  }
  return [...path.slice(seen.get(current)), current].map((i) => nodes[i]!.id);
}
