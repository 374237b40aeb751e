/**
 * A binary min-heap of small integer ids ordered by a key the caller keeps (`keys[id]`), ties by
 * the smaller id. The replay's event queue (ids in push order, so simultaneous events come out in
 * the order they were made) and the list scheduler's ready queue (keys = −rank) are both this.
 * A key must not change while its id is in the heap.
 */
export class IdHeap {
  private readonly ids: number[] = [];

  constructor(private readonly keys: ArrayLike<number>) {}

  get size(): number {
    return this.ids.length;
  }

  /** The smallest id, or -1 when empty. */
  peek(): number {
    return this.ids.length === 0 ? -1 : this.ids[0]!;
  }

  push(id: number): void {
    const ids = this.ids;
    let index = ids.length;
    ids.push(id);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = ids[parentIndex]!;
      if (!this.before(id, parent)) break;
      ids[index] = parent;
      index = parentIndex;
    }
    ids[index] = id;
  }

  /** Removes and returns the smallest id, or -1 when empty. */
  pop(): number {
    const ids = this.ids;
    if (ids.length === 0) return -1;
    const top = ids[0]!;
    const last = ids.pop()!;
    const size = ids.length;
    if (size === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && this.before(ids[right]!, ids[left]!) ? right : left;
      if (!this.before(ids[child]!, last)) break;
      ids[index] = ids[child]!;
      index = child;
    }
    ids[index] = last;
    return top;
  }

  private before(a: number, b: number): boolean {
    const keyA = this.keys[a]!;
    const keyB = this.keys[b]!;
    return keyA < keyB || (keyA === keyB && a < b);
  }
}
