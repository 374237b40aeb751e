import { InputError } from '../../core/errors.js';
import type { Rng } from '../../core/clock.js';
import { NODE_KINDS, parseNodeAdvertisement, type NodeAdvertisement, type NodeKind } from '../../place/node-probe.js';

/** One kind in a node mix: the price its nodes ask per core-second, and its share of the nodes. */
export interface MixEntry {
  readonly kind: NodeKind;
  readonly pricePerCoreSecond: number;
  readonly share: number;
}

/**
 * What a simulated node of each kind is like. Assumed, not measured: a rack server, an edge box and a lent laptop
 * (half its cores by consent). Kinds differ in size, swarmlet start time, round trip to Redis and how often they
 * leave; the auction sees capacity, price and measured reliability and latency, never the start time.
 */
export interface NodeModel {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly maxCpuShare: number;
  readonly coldStartMs: number;
  /** A swarmlet specialized to another type loads its module in this long (same process). */
  readonly loadMs: number;
  readonly rttMs: number;
  /** How likely a node of the kind leaves during a run, relative to `--node-failures` (personal: 1). */
  readonly leaves: number;
}

export const NODE_MODELS: Readonly<Record<NodeKind, NodeModel>> = {
  server: { cpu: 32, memoryMb: 131_072, maxCpuShare: 1, coldStartMs: 250, loadMs: 50, rttMs: 1, leaves: 0.1 },
  edge: { cpu: 4, memoryMb: 8_192, maxCpuShare: 1, coldStartMs: 400, loadMs: 80, rttMs: 15, leaves: 0.5 },
  personal: { cpu: 8, memoryMb: 16_384, maxCpuShare: 0.5, coldStartMs: 600, loadMs: 120, rttMs: 40, leaves: 1 },
};

export const DEFAULT_NODE_MIX = 'server:0.0001,edge:0.00004,personal:0.00002';
const FIX = `write kind:price-per-core-second[:share] for each kind, e.g. --node-mix ${DEFAULT_NODE_MIX} (shares default to equal)`;

/** `server:0.0001,edge:0.00004:0.5,…`: kinds with their price and (optional) share of the nodes; shares sum to 1. */
export function parseNodeMix(text: string): MixEntry[] {
  const entries: { kind: NodeKind; pricePerCoreSecond: number; share: number | undefined }[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const [kind, price, share, ...rest] = part.split(':');
    if (!(NODE_KINDS as readonly string[]).includes(kind ?? ''))
      throw new InputError(
        '--node-mix',
        `"${kind}" is not a node kind (use ${NODE_KINDS.join(', ')}; in "${text}")`,
        FIX,
      );
    if (entries.some((e) => e.kind === kind))
      throw new InputError('--node-mix', `${kind} is listed twice (in "${text}")`, FIX);
    const p = Number(price);
    if (price === undefined || price === '' || !Number.isFinite(p) || p < 0 || p > 1_000)
      throw new InputError(
        '--node-mix',
        `"${price ?? ''}" is not a price per core-second from 0 to 1000 (${kind})`,
        FIX,
      );
    const s = share === undefined ? undefined : Number(share);
    if (rest.length > 0 || (s !== undefined && (share === '' || !Number.isFinite(s) || s <= 0 || s > 1)))
      throw new InputError('--node-mix', `"${part}" has a bad share (a number above 0, at most 1)`, FIX);
    entries.push({ kind: kind as NodeKind, pricePerCoreSecond: p, share: s });
  }
  const given = entries.reduce((sum, e) => sum + (e.share ?? 0), 0);
  const unset = entries.filter((e) => e.share === undefined).length;
  if (given > 1 + 1e-9 || (unset === 0 && Math.abs(given - 1) > 1e-6))
    throw new InputError('--node-mix', `the shares sum to ${given}, not 1 (in "${text}")`, FIX);
  return entries.map((e) => ({ ...e, share: e.share ?? (1 - given) / unset }));
}

/** `count` advertisements in the mix's shares (largest remainder), kinds interleaved by a seeded shuffle. */
export function mixNodes(count: number, mix: readonly MixEntry[], rng: Rng): NodeAdvertisement[] {
  const exact = mix.map((e) => e.share * count);
  const counts = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let left = count - counts.reduce((a, b) => a + b, 0), k = 0; left > 0; left--, k++)
    counts[order[k % order.length]!.i]! += 1;
  const kinds = mix.flatMap((entry, i) => Array.from({ length: counts[i]! }, () => entry));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((entry, i) => advertisementOf(`${entry.kind}-${i + 1}`, entry));
}

function advertisementOf(nodeId: string, entry: MixEntry): NodeAdvertisement {
  const model = NODE_MODELS[entry.kind];
  const parsed = parseNodeAdvertisement({
    nodeId,
    kind: entry.kind,
    capacity: { cpu: model.cpu, memoryMb: model.memoryMb },
    pricePerCoreSecond: entry.pricePerCoreSecond,
    ...(entry.kind === 'personal' && { consent: { granted: true, maxCpuShare: model.maxCpuShare } }),
    sandbox: entry.kind === 'personal' ? 'bwrap' : 'none',
  });
  if (!parsed.ok) throw parsed.error; // the models above are valid; a failure here is a bug in them
  return parsed.value;
}
