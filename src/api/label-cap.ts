/** The label value that stands for every value past the cap. */
export const OTHER = 'other';

/**
 * Bounds one label's values (a series per value costs Prometheus memory for ever): up to `cap` values get series of
 * their own, picked by volume when first seen and then kept, so a series never moves into "other" and back (that
 * would make its counters jump and break rate()). Everything else is reported as "other".
 */
export class LabelCap {
  private readonly kept = new Set<string>();

  constructor(readonly cap: number) {}

  /** Takes in new values while there is room (largest volume first); returns the label each value is reported as. */
  admit(volumes: ReadonlyMap<string, number>): (value: string) => string {
    if (this.kept.size < this.cap) {
      const fresh = [...volumes].filter(([value]) => !this.kept.has(value));
      fresh.sort(([a, va], [b, vb]) => vb - va || (a < b ? -1 : a > b ? 1 : 0));
      for (const [value] of fresh.slice(0, this.cap - this.kept.size)) this.kept.add(value);
    }
    return (value) => (this.kept.has(value) ? value : OTHER);
  }
}
