import { formatAmount } from '../place/format.js';
import type { Resources } from '../core/resources.js';
import { EMPTY_EWMA, updateEwma, type Ewma } from './ewma.js';

/**
 * What one swarmlet of a task type holds on a node: its claim when it is placed. The director
 * reserves this much of a node per swarmlet, so a node's placed swarmlets never add up past its
 * capacity or consent caps (the auction filters on it).
 *
 * Memory is incompressible, so the claim is the larger of the type's hint (`resources.memoryMb`)
 * and the EWMA of its swarmlets' measured resident memory (agents' heartbeats); with neither, a
 * default. CPU is compressible: the hint (`resources.cpu`) or one core, never a measurement that
 * an idle moment would make look small. Pure: hints and samples in, claims out.
 */
export interface FootprintDefaults {
  readonly cpu: number;
  readonly memoryMb: number;
}

export interface Footprint extends Resources {
  /** Where the numbers come from, for placement reasons: e.g. "1 core (default), 812 MB (measured, 12 samples)". */
  readonly reason: string;
}

/** Weight of a new memory sample: about the last ten heartbeats of a type's swarmlets count. */
const ALPHA = 0.2;

export class SwarmletFootprints {
  private readonly hints = new Map<string, Partial<Resources>>();
  private readonly measured = new Map<string, Ewma>();

  constructor(private readonly defaults: FootprintDefaults) {}

  /** A type's declared needs (its module's `resources`); later hints replace earlier ones. */
  hint(taskType: string, hint: Partial<Resources>): void {
    this.hints.set(taskType, hint);
  }

  /**
   * One swarmlet's resident memory as its agent reported it; non-finite or non-positive samples are dropped (wire
   * data).
   */
  observeMemory(taskType: string, rssMb: number): void {
    if (!Number.isFinite(rssMb) || rssMb <= 0) return;
    this.measured.set(taskType, updateEwma(this.measured.get(taskType) ?? EMPTY_EWMA, rssMb, ALPHA));
  }

  of(taskType: string): Footprint {
    const hint = this.hints.get(taskType) ?? {};
    const cpu = hint.cpu ?? this.defaults.cpu;
    const cpuReason = `${formatAmount(cpu)} core(s) (${hint.cpu === undefined ? 'default' : 'hint'})`;
    const { value: measuredMb, samples } = this.measured.get(taskType) ?? EMPTY_EWMA;
    const candidates: [number, string][] = [];
    if (hint.memoryMb !== undefined) candidates.push([hint.memoryMb, 'hint']);
    if (measuredMb !== undefined) candidates.push([measuredMb, `measured, ${samples} sample(s)`]);
    // The default only stands in for knowledge: a small hint or measurement is believed.
    const [memoryMb, source] =
      candidates.length === 0
        ? [this.defaults.memoryMb, 'default']
        : candidates.reduce((a, b) => (b[0] > a[0] ? b : a));
    return { cpu, memoryMb, reason: `${cpuReason}, ${formatAmount(memoryMb)} MB (${source})` };
  }
}
