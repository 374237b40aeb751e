// The decisions the page keeps: ordered by seq, no duplicates, bounded (the oldest go first).

export class DecisionLog {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = [];
    /** Changes each time something is added: views redraw only when it moved. */
    this.version = 0;
  }

  get lastSeq() {
    return this.items.length === 0 ? -1 : this.items[this.items.length - 1].seq;
  }

  /** Adds decisions from a page or the live feed; they may overlap or come out of order. */
  add(decisions) {
    let added = false;
    for (const decision of decisions) {
      const last = this.lastSeq;
      if (decision.seq > last) this.items.push(decision);
      else if (!this.insertOlder(decision)) continue;
      added = true;
    }
    if (!added) return false;
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    this.version += 1;
    return true;
  }

  insertOlder(decision) {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.items[mid].seq < decision.seq) low = mid + 1;
      else high = mid;
    }
    if (this.items[low]?.seq === decision.seq) return false;
    this.items.splice(low, 0, decision);
    return true;
  }
}
