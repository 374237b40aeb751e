/**
 * A set that counts its changes: what is built from it (an array a loop hands out every tick) is rebuilt only once
 * `changes` moved.
 */
export class CountedSet<T> extends Set<T> {
  changes = 0;

  override add(value: T): this {
    if (!this.has(value)) this.changes += 1;
    return super.add(value);
  }

  override delete(value: T): boolean {
    const deleted = super.delete(value);
    if (deleted) this.changes += 1;
    return deleted;
  }

  override clear(): void {
    if (this.size > 0) this.changes += 1;
    super.clear();
  }
}
