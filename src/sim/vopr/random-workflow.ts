import type { Rng } from '../../core/clock.js';
import { parseWorkflow, type Workflow } from '../workflow/load.js';

/**
 * A random layered DAG, the VOPR's workload: 1–4 task types, 2–5 stages, each task depending on 0–3 tasks of earlier
 * stages, runtimes spread over four orders of magnitude (a type has a median, its tasks scatter around it), some
 * measured at zero. Built as WfFormat so it goes through the same loader as the shared traces.
 */
export function randomWorkflow(rng: Rng, name: string, maxTasks = 120): Workflow {
  const pick = (n: number) => Math.floor(rng.next() * n);
  const types = Array.from({ length: 1 + pick(4) }, (_, i) => ({
    name: `t${i}`,
    medianMs: 10 ** (rng.next() * 4), // 1 ms to 10 s
  }));
  const stages = 2 + pick(4);
  const perStage = Math.max(1, Math.floor(maxTasks / stages));
  const spec: { id: string; name: string; parents: string[] }[] = [];
  const exec: { id: string; runtimeInSeconds: number }[] = [];
  for (let stage = 0; stage < stages; stage++) {
    const count = 1 + pick(perStage);
    const type = types[pick(types.length)]!;
    for (let i = 0; i < count; i++) {
      const id = `${type.name}_ID${String(spec.length).padStart(7, '0')}`;
      const earlier = spec.length;
      const parents = stage === 0 ? [] : [...new Set(Array.from({ length: pick(4) }, () => spec[pick(earlier)]!.id))];
      const zero = rng.next() < 0.03;
      const spread = Math.exp((rng.next() - 0.5) * 2); // ×0.37 … ×2.7
      spec.push({ id, name: id, parents });
      exec.push({ id, runtimeInSeconds: zero ? 0 : (type.medianMs * spread) / 1000 });
    }
  }
  return parseWorkflow(
    { schemaVersion: '1.5', workflow: { specification: { tasks: spec }, execution: { tasks: exec } } },
    `${name}.json`,
  );
}
