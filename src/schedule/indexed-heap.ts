/**
 * A binary min-heap that knows where each node sits, so a node can be removed or re-keyed in
 * O(log n) — the SLA queue needs that for `remove(id)` and for owners whose fair-share tag moves.
 *
 * A node may sit in several heaps at once; each heap keeps its position in a slot the caller
 * names (`slot.get` / `slot.set`), so there is no per-heap Map lookup. A position of -1 means
 * "not in this heap".
 */
export interface HeapSlot<T> {
  get(node: T): number;
  set(node: T, index: number): void;
}

export class IndexedHeap<T> {
  private readonly nodes: T[] = [];

  /** `before(a, b)` is true when `a` must come out before `b` (a strict order: no ties). */
  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly slot: HeapSlot<T>,
  ) {}

  get size(): number {
    return this.nodes.length;
  }

  peek(): T | undefined {
    return this.nodes[0];
  }

  has(node: T): boolean {
    const index = this.slot.get(node);
    return index >= 0 && index < this.nodes.length && this.nodes[index] === node;
  }

  push(node: T): void {
    this.nodes.push(node);
    this.slot.set(node, this.nodes.length - 1);
    this.siftUp(this.nodes.length - 1);
  }

  pop(): T | undefined {
    const top = this.nodes[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes `node` if it is here; false otherwise. */
  remove(node: T): boolean {
    if (!this.has(node)) return false;
    this.removeAt(this.slot.get(node));
    return true;
  }

  /** Restores order after `node`'s key changed (either direction). */
  update(node: T): void {
    if (!this.has(node)) return;
    const index = this.slot.get(node);
    this.siftUp(index);
    this.siftDown(this.slot.get(node));
  }

  private removeAt(index: number): void {
    const removed = this.nodes[index] as T;
    const last = this.nodes.pop() as T;
    this.slot.set(removed, -1);
    if (index === this.nodes.length) return; // removed the last node
    this.nodes[index] = last;
    this.slot.set(last, index);
    this.siftUp(index);
    this.siftDown(this.slot.get(last));
  }

  private siftUp(start: number): void {
    let index = start;
    const node = this.nodes[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.nodes[parentIndex] as T;
      if (!this.before(node, parent)) break;
      this.nodes[index] = parent;
      this.slot.set(parent, index);
      index = parentIndex;
    }
    this.nodes[index] = node;
    this.slot.set(node, index);
  }

  private siftDown(start: number): void {
    let index = start;
    const count = this.nodes.length;
    const node = this.nodes[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= count) break;
      const right = left + 1;
      let child = left;
      if (right < count && this.before(this.nodes[right] as T, this.nodes[left] as T)) child = right;
      const childNode = this.nodes[child] as T;
      if (!this.before(childNode, node)) break;
      this.nodes[index] = childNode;
      this.slot.set(childNode, index);
      index = child;
    }
    this.nodes[index] = node;
    this.slot.set(node, index);
  }
}
