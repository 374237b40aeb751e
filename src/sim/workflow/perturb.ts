import { seededRng, type Rng } from '../../core/clock.js';
import type { Workflow } from './load.js';

/**
 * Seeds for workflow replays. Seed 0 is the trace as recorded. Seed s > 0 multiplies every task's runtime by its own
 * lognormal factor exp(σZ − σ²/2), Z standard normal (mean 1, so the total work stays the same on average; σ = 0.1:
 * about two tasks in three within ±10 %), drawn from seededRng(s mixed with the workflow's name) in task order: the
 * same seed gives the same perturbed workflow, whichever policy replays it, and instances get independent noise.
 * A measured zero stays zero. Recorded runtimes are one draw of a noisy machine; seeds show how much a policy's
 * result depends on that draw.
 */
export const RUNTIME_NOISE_SIGMA = 0.1;

export function perturbRuntimes(workflow: Workflow, seed: number, sigma = RUNTIME_NOISE_SIGMA): Workflow {
  if (!(Number.isInteger(seed) && seed >= 0)) throw new RangeError(`seed = ${seed}: use a whole number ≥ 0`);
  if (seed === 0 || sigma === 0) return workflow;
  const rng = seededRng((seed * 0x9e3779b1) ^ nameHash(workflow.name));
  const tasks = workflow.tasks.map((task) => {
    const factor = Math.exp(sigma * standardNormal(rng) - (sigma * sigma) / 2);
    return { ...task, runtimeMs: task.runtimeMs * factor };
  });
  return { ...workflow, tasks };
}

/** Box–Muller: one standard normal from two uniforms (the second of the pair is dropped: simpler, as reproducible). */
function standardNormal(rng: Rng): number {
  const u = 1 - rng.next(); // (0, 1]: log(0) is never taken
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** FNV-1a over the name's UTF-16 code units. */
function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
