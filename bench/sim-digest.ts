/**
 * `node scripts/build.mjs --bench && node dist/sim-digest.js > before.json`: what the simulator decided, as a JSON
 * digest, for making it faster without changing a result. Run it before and after a change and compare the files:
 * any difference is a changed result. Per instance × slots × policy, replayed through the real orchestrator on
 * virtual time: makespan, swarmlet time held, cold starts, morphing actions by kind, timers fired, and hashes of every
 * micro-task's run (swarmlet, start, end) and every type each swarmlet served; plus a replay at another tick period,
 * and VOPR seeds (random DAGs with kills and late results).
 *
 *   node dist/sim-digest.js [--seeds N]   (VOPR seeds 1..N, default 150)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runSeed } from '../src/sim/vopr/run-seed.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';
import { replayThroughOrchestrator, runThroughOrchestrator } from '../src/sim/workflow/orchestrator-replay.js';
import { ROOT } from './util.js';

const TRACES = join(ROOT, '..', 'shared', 'traces', 'wfcommons');
const INSTANCES = [
  'blast/blast-chameleon-large-001.json',
  'srasearch/srasearch-chameleon-50a-001.json',
  '1000genome/1000genome-chameleon-2ch-250k-001.json',
  'montage/montage-chameleon-2mass-01d-001.json',
];
const SLOTS = [8, 32, 128];
const MODEL = { coldStartMs: 100, loadMs: 20, stopMs: 5 };

function seedsArg(argv: readonly string[]): number {
  if (argv.length === 0) return 150;
  if (argv.length === 2 && argv[0] === '--seeds' && /^\d+$/.test(argv[1]!)) return Number(argv[1]);
  process.stderr.write(`sim-digest: bad arguments "${argv.join(' ')}". Fix: --seeds N (an integer ≥ 0; default 150)\n`);
  process.exit(2);
}

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

const seeds = seedsArg(process.argv.slice(2));
const digest: Record<string, unknown> = {};
for (const path of INSTANCES) {
  const workflow = await loadWorkflowFile(join(TRACES, path));
  for (const slots of SLOTS) {
    const share = Math.max(1, Math.floor(slots / workflow.types.length));
    const split = Object.fromEntries(workflow.types.map((type) => [type, share]));
    for (const policy of ['adaptive', { static: split }] as const) {
      const result = await replayThroughOrchestrator(workflow, { slots, policy, model: MODEL });
      digest[`${workflow.name}/${slots}/${result.policy}`] = {
        makespanMs: result.makespanMs,
        heldMs: result.heldMs,
        coldStarts: result.coldStarts,
        actions: result.actions,
        events: result.events,
        ran: hash(result.ran),
        served: hash(result.served),
      };
    }
  }
  const run = await runThroughOrchestrator(workflow, { slots: 16, policy: 'adaptive', model: MODEL, tickMs: 37 });
  digest[`${workflow.name}/16/adaptive/tick 37 ms`] = {
    endMs: run.endMs,
    events: run.environment.fired,
    ran: hash(run.provider.ran),
    actions: hash(run.summary.actions),
  };
}
const verdicts = [];
for (let seed = 1; seed <= seeds; seed++) verdicts.push(await runSeed(seed));
digest[`vopr seeds 1..${seeds}`] = { verdicts: hash(verdicts), events: verdicts.reduce((sum, v) => sum + v.events, 0) };
process.stdout.write(`${JSON.stringify(digest, null, 1)}\n`);
