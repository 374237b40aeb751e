import { defineJob } from 'swarmlet';

const KNOWN_OPTIONS = ['seed', 'length', 'leaf'] as const;
/**
 * The root join holds two halves, their base64 forms and one IPC message of ~5.3 bytes an element (20M took 25 s and ~2
 * GB here): cap the length.
 */
const MAX_LENGTH = 10_000_000;
/** Below this, dispatch costs more than sorting; it also bounds the tree at 2·length/leaf micro-tasks. */
const MIN_LEAF = 1_000;

/**
 * One `sort` micro-task over the whole range; it splits itself into halves until ranges hold at
 * most `leaf` numbers, and joins merge the sorted halves back up. The input is just a seed and a
 * range: leaves generate their own numbers, so nothing big is shipped down the tree.
 */
export default defineJob({
  name: 'merge-sort',
  description:
    'recursive split/join merge sort of seeded pseudo-random uint32s (default 2,000,000, leaves of ≤ 50,000)',
  tasks: ['./sort.ts'],
  build(options) {
    const unknown = Object.keys(options).filter((key) => !(KNOWN_OPTIONS as readonly string[]).includes(key));
    if (unknown.length > 0)
      throw new Error(`--set ${unknown[0]}: unknown option. Fix: use one of ${KNOWN_OPTIONS.join(', ')}`);
    const seed = integerOption(options, 'seed', 0, Number.MAX_SAFE_INTEGER) ?? 1;
    const length = integerOption(options, 'length', 1, MAX_LENGTH) ?? 2_000_000;
    const leaf = integerOption(options, 'leaf', MIN_LEAF, MAX_LENGTH) ?? 50_000;
    return { type: 'sort', input: { seed, from: 0, to: length, leaf } };
  },
});

function integerOption(
  options: Readonly<Record<string, string>>,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const raw = options[key];
  if (raw === undefined) return undefined;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new Error(`--set ${key}=${raw}: not an integer from ${min} to ${max}. Fix: e.g. --set ${key}=${min}`);
  return value;
}
