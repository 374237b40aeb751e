/**
 * Section 7: the simulator's own speed, which decides whether it can sit in a policy's design loop.
 * - A real workflow replayed through the real orchestrator on virtual time, in events per second, against the pure
 *   list-scheduler replay of the same workflow in the same run (how much the real decision code costs).
 * - One adaptive decision tick with 10,000 swarmlets of 100 types, against the same with 1,000 (how it grows).
 * - 1,000 VOPR seeds.
 */
import { join } from 'node:path';
import { adaptivePolicy } from '../src/decide/policies/adaptive.js';
import type { Snapshot, SwarmletView, TaskTypeLoad } from '../src/decide/snapshot.js';
import { initialLoopState, step } from '../src/decide/step.js';
import { runSeed } from '../src/sim/vopr/run-seed.js';
import { runBaseline } from '../src/sim/workflow/baselines.js';
import { loadWorkflowFile } from '../src/sim/workflow/load.js';
import { replayThroughOrchestrator } from '../src/sim/workflow/orchestrator-replay.js';
import type { Detail, Row, SectionResult } from './table.js';
import { ROOT, fmt, log, median, now } from './util.js';

const SECTION = 'simulator';
const WORKFLOW = join(ROOT, '..', 'shared', 'traces', 'wfcommons', 'blast', 'blast-chameleon-large-001.json');
const REPS = 3;

function swarmletView(id: number, types: number): SwarmletView {
  return {
    id: `s${id}`,
    taskType: `t${id % types}`,
    state: 'busy',
    startedAtMs: 0,
    lastBusyAtMs: 10_000,
    lastMorphAtMs: 0,
    inFlight: 1,
    utilization: 1,
    rssMb: 60,
    pendingTaskType: undefined,
    warmTypes: [`t${id % types}`],
    shadow: false,
  };
}

/** A steady pool: every type as busy as its swarmlets can carry, so the tick decides and changes nothing. */
function steadySnapshot(swarmlets: number, types: number, nowMs: number): Snapshot {
  const load = (t: number): TaskTypeLoad => ({
    taskType: `t${t}`,
    ready: swarmlets / types,
    inFlight: swarmlets / types,
    blocked: 0,
    completedInWindow: 30,
    meanDurationMsInWindow: 50,
    hintDurationMs: undefined,
  });
  return {
    nowMs,
    windowMs: 100,
    limits: { maxSwarmlets: swarmlets, maxMemoryMb: Number.MAX_SAFE_INTEGER, swarmletMemoryMb: 60 },
    swarmlets: Array.from({ length: swarmlets }, (_, i) => swarmletView(i, types)),
    load: Array.from({ length: types }, (_, t) => load(t)),
    jobProfiles: [],
  };
}

function tickMs(swarmlets: number): number {
  const policy = adaptivePolicy();
  let state = initialLoopState(policy);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const snapshot = steadySnapshot(swarmlets, 100, 10_000 + i * 100);
    const start = now();
    state = step(policy, state, snapshot).state;
    times.push(now() - start);
  }
  return median(times.slice(5)); // the first ticks pay for compilation
}

export async function runSimulator(): Promise<SectionResult> {
  const workflow = await loadWorkflowFile(WORKFLOW);
  log(`simulator: ${workflow.name} (${workflow.tasks.length} tasks) at 8 slots, ${REPS} reps, orchestrator vs list`);
  const ours: number[] = [];
  const pure: number[] = [];
  let events = 0;
  for (let rep = 0; rep < REPS; rep++) {
    const result = await replayThroughOrchestrator(workflow, {
      slots: 8,
      policy: 'adaptive',
      model: { coldStartMs: 100, loadMs: 20, stopMs: 5 },
    });
    events = result.events;
    ours.push((result.events * 1000) / result.wallMs);
    const start = now();
    runBaseline('list', workflow, { slots: 8, coldStartMs: 100 });
    // The pure replay's events: each task starts and ends once.
    pure.push((2 * workflow.tasks.length * 1000) / (now() - start));
  }
  log('simulator: adaptive tick at 1,000 and 10,000 swarmlets');
  const small = tickMs(1_000);
  const large = tickMs(10_000);
  log('simulator: 1,000 VOPR seeds');
  const voprStart = now();
  for (let seed = 1; seed <= 1_000; seed++) await runSeed(seed);
  const voprS = (now() - voprStart) / 1000;
  const rows: Row[] = [
    {
      section: SECTION,
      metric: `workflow replay through the orchestrator, events/s (${workflow.name}, 8 slots)`,
      unit: 'events/s',
      swarmlet: median(ours),
      baseline: median(pure),
      baselineName: 'the pure list-scheduler replay',
      ratio: median(ours) / median(pure),
      goal: 'info',
    },
    {
      section: SECTION,
      metric: 'adaptive tick, 10,000 swarmlets of 100 types (steady)',
      unit: 'ms',
      swarmlet: large,
      baseline: small,
      baselineName: 'the same with 1,000 swarmlets',
      ratio: large / small,
      goal: 'lower',
      target: 10, // linear growth: 10× the swarmlets, at most 10× the time
    },
  ];
  const details: Detail[] = [
    { section: SECTION, name: 'orchestrator replay events', value: events, unit: 'events', note: 'ticks included' },
    { section: SECTION, name: 'adaptive tick, 10,000 swarmlets', value: large, unit: 'ms', note: 'target ≤ 5 ms' },
    {
      section: SECTION,
      name: '1,000 VOPR seeds',
      value: voprS,
      unit: 's',
      note: `random DAGs of up to 80 tasks with faults; target ≤ 60 s for 1,000-task workflows (${fmt(voprS)} s here)`,
    },
  ];
  return { rows, details };
}
