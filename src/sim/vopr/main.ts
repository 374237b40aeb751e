/**
 * `npm run vopr -- --seeds 10000 [--from 1] [--tasks 80]`: runs many VOPR seeds (run-seed.ts) and prints each failing
 * seed with its scenario and violations; exits 1 if any failed. `--seed N` replays one.
 */
import { Command } from 'commander';
import { runSeed, type SeedVerdict } from './run-seed.js';

const program = new Command('vopr')
  .option('--seeds <n>', 'how many seeds', '1000')
  .option('--from <seed>', 'the first seed', '1')
  .option('--seed <seed>', 'replay this one seed')
  .option('--tasks <n>', 'most tasks per workflow', '80')
  .parse();
const flags = program.opts<{ seeds: string; from: string; seed?: string; tasks: string }>();
const whole = (flag: string, value: string, min: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(
      `vopr: --${flag} is ${JSON.stringify(value)}, must be an integer ≥ ${min}. Fix: --${flag} ${min}\n`,
    );
    process.exit(2);
  }
  return n;
};
const first = flags.seed === undefined ? whole('from', flags.from, 0) : whole('seed', flags.seed, 0);
const count = flags.seed === undefined ? whole('seeds', flags.seeds, 1) : 1;
const tasks = whole('tasks', flags.tasks, 1);

const started = performance.now();
const failed: SeedVerdict[] = [];
let events = 0;
let kills = 0;
for (let seed = first; seed < first + count; seed++) {
  const verdict = await runSeed(seed, tasks);
  events += verdict.events;
  kills += verdict.kills;
  if (verdict.violations.length > 0) {
    failed.push(verdict);
    process.stdout.write(`seed ${seed} FAILED (${verdict.scenario}):\n  ${verdict.violations.join('\n  ')}\n`);
  }
  if ((seed - first + 1) % 100 === 0) process.stderr.write(`vopr: ${seed - first + 1}/${count} seeds\n`);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `vopr: ${count} seeds from ${first} in ${seconds.toFixed(1)} s (${Math.round(events / seconds)} events/s, ${kills} swarmlets killed): ${failed.length} failed${failed.length > 0 ? ` (replay one: npm run vopr -- --seed ${failed[0]!.seed})` : ''}\n`,
);
process.exit(failed.length > 0 ? 1 : 0);
