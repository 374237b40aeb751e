import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunArguments, runCommandSpec } from '../src/cli/run-options.js';
import { InputError } from '../src/core/errors.js';
import { applyCliFix } from './support/fixes.js';

// The real `swarmlet` bin (built dist/): bad input that used to hang, exit 0 silently or say "unexpected error"
// (issue 11, item 6) is refused with exit code 2 and one line naming the field and a fix; the fix, applied, runs.
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'swarmlet.js');
interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}
function swarmlet(args: string[], timeoutMs = 30_000, env?: NodeJS.ProcessEnv): Promise<Outcome> {
  const startedMs = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: timeoutMs, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr, elapsedMs: performance.now() - startedMs });
    });
  });
}
const takesValue = (flag: string) => runCommandSpec().options.some((option) => option.long === flag && option.required);
const job = 'test/fixtures/jobs/two-types';
const quiet = ['--no-progress', '--no-history'];

/**
 * Exit 2, one line naming `field`, and a fix that is accepted: applied, the command runs (exit 0), or is refused
 * for another field (a fix may bring out the next problem, as a static split given a missing type may now ask for
 * more swarmlets than --max-swarmlets), whose own fix is then applied, at most 3 times.
 */
async function refusedThenFixed(
  args: string[],
  field: string,
  message: RegExp,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  let refused = await swarmlet(args, 30_000, env);
  expect(refused.stderr).toMatch(new RegExp(`^swarmlet: ${field.replace(/[-.]/g, '\\$&')}: `));
  expect(refused.stderr).toMatch(message);
  const fields: string[] = [];
  for (let step = 0; step < 3 && refused.code !== 0; step++) {
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    const named = /^swarmlet: (.+?): /.exec(refused.stderr)![1]!;
    expect(fields, `the fix for ${named} was not accepted`).not.toContain(named);
    fields.push(named);
    args = applyCliFix(args, refused.stderr, takesValue);
    refused = await swarmlet(args, 30_000, env);
  }
  expect(refused.stderr).toBe('');
  expect(refused.code).toBe(0);
}

describe('swarmlet run: refusals up front, with a fix that is accepted', () => {
  it('--policy static:<type>=0 is refused (it used to hang)', async () => {
    await refusedThenFixed(
      ['run', job, ...quiet, '--policy', 'static:noop=0,square-sum=1'],
      '--policy',
      /noop is 0.*Fix: write --policy static:noop=1,square-sum=1/,
    );
  });

  it('a static split that leaves a type out is refused (it used to wait forever)', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--policy', 'static:noop=2'], '--policy', /square-sum is missing/);
  });

  it('a static split of more swarmlets than --max-swarmlets is refused (it used to wait forever)', async () => {
    await refusedThenFixed(
      ['run', job, ...quiet, '--policy', 'static:noop=2,square-sum=2', '--max-swarmlets', '3'],
      '--max-swarmlets',
      /fewer than the static split's 4.*Fix: write --max-swarmlets 4/,
    );
  });

  it('--cache-dir naming a file says so (it used to say "unexpected error: EEXIST")', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--cache-dir', '/etc/passwd'], '--cache-dir', /is a file/);
  });

  it('--cache-dir /proc/x is refused (it hung forever)', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--cache-dir', '/proc/x'], '--cache-dir', /kernel/);
  });

  it('--cache-dir --json is refused (it made a directory named --json)', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--cache-dir', '--json'], '--cache-dir', /looks like an option/);
    expect(existsSync(join(root, '--json'))).toBe(false);
  });

  it('--policy static:nope=1 suggests a split that is accepted (it suggested static:, itself refused)', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--policy', 'static:nope=1'], '--policy', /nope is not a loaded/);
  });

  it('--tick-ms 0 suggests a value that is accepted (it suggested --tick-ms 4, itself refused)', async () => {
    await refusedThenFixed(['run', job, ...quiet, '--tick-ms', '0'], '--tick-ms', /Fix: write --tick-ms 100/);
  });

  it('--sandbox nope suggests a sandbox that is accepted (it said "Fix: --sandbox auto", which no tool could apply)', async () => {
    await refusedThenFixed(
      ['run', job, ...quiet, '--sandbox', 'nope'],
      '--sandbox',
      /"nope", must be one of auto, bwrap, process, none\. Fix: write --sandbox auto$/m,
    );
  });

  it('--sandbox bwrap where bubblewrap cannot run suggests process, which runs', async () => {
    await refusedThenFixed(
      ['run', job, ...quiet, '--sandbox', 'bwrap'],
      '--sandbox',
      /is bwrap, but bubblewrap cannot run here .*\. Fix: write --sandbox process$/m,
      { PATH: '/nonexistent' }, // no bwrap to find
    );
  });
});

// The same checks in-process (parseRunArguments is what the CLI runs before it loads anything).
describe('parseRunArguments: each refusal names the flag, and its fix is accepted', () => {
  it.each([
    [['--tick-ms', '4'], '--tick-ms', /Too small.*\(got 4\)/],
    [['--tick-ms', 'fast'], '--tick-ms', /"fast" is not a positive integer/],
    [['--max-swarmlets', '300'], '--max-swarmlets', /Too big/],
    [['--bogus'], '--bogus', /not an option/],
    [['--tick-ms'], '--tick-ms', /needs a value/],
    [['extra'], 'argument "extra"', /one too many/],
    [['--set', 'nokey'], '--set', /is not key=value/],
    [['--priority', 'urgent'], '--priority', /not a priority class/],
    [['--deadline', '9999h'], '--deadline', /more than a week/],
    [['--policy', 'static:noop'], '--policy', /is not type=count/],
    [['--job-key', 'k'], '--job-key', /names a cluster job/],
    [['--policy', 'static:noop=1,noop=2'], '--policy', /noop is given twice/],
    [['--history', '/etc'], '--history', /is a directory/],
    [['--history', '/dev/null/x'], '--history', /not a directory/],
    [['--cache-dir', '--json'], '--cache-dir', /"--json" looks like an option/],
    [['--history', '--tick-ms'], '--history', /"--tick-ms" looks like an option/],
    [['--cache-dir', '/proc/x'], '--cache-dir', /kernel/],
    [['--set', 'a=1', '--set', 'a=2'], '--set', /a is given twice/],
    [['--sandbox', 'nope'], '--sandbox', /"nope", must be one of auto, bwrap, process, none/],
    [['--sandbox', ''], '--sandbox', /"", must be one of/],
    [['--sandbox'], '--sandbox', /needs a value/],
    [['--sandbox', 'bwrap', '--redis', 'redis://127.0.0.1:1'], '--sandbox', /this run is on the cluster/],
    [['--redis', 'redis://127.0.0.1:1', '--sandbox=none'], '--sandbox', /each agent chooses its own/],
    [['--port', '8080'], '--port', /only applies with --dashboard/],
    [['--exit'], '--exit', /only applies with --dashboard/],
    [['--http-token-file', 'x'], '--http-token-file', /only applies with --dashboard/],
    [['--dashboard', '--port', '70000'], '--port', /"70000" is not a port \(0 to 65535\)\. Fix: write --port 0/],
    [['--dashboard', '--port', 'any'], '--port', /"any" is not a port/],
    [['--dashboard', '--http-host', '0.0.0.0'], '--http-host', /reachable from other machines and no token/],
    [
      ['--dashboard', '--http-token-file', '/nonexistent/t'],
      '--http-token-file',
      /cannot read \/nonexistent\/t \(ENOENT\)/,
    ],
    [['--dashboard', '--http-token-file', '/dev/null'], '--http-token-file', /holds 0 characters.*16 or more/],
    [['--dashboard', '--http-token-file', '--json'], '--http-token-file', /looks like an option/],
    [['--dashboard', '--redis', 'redis://127.0.0.1:1'], '--dashboard', /this run is on the cluster/],
  ])('%j', async (extra, field, message) => {
    const args = [job, ...quiet, ...extra];
    const error = await parseRunArguments(args).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect((error as InputError).message).toMatch(message);
    await expect(parseRunArguments(applyCliFix(args, (error as Error).message, takesValue))).resolves.toBeDefined();
  });
});

describe('--set: every key reaches the job', () => {
  it.each(['__proto__', 'constructor', 'toString'])('--set %s=1 is an own option (it used to vanish)', async (key) => {
    const plan = await parseRunArguments([job, ...quiet, '--set', `${key}=1`]);
    expect(Object.keys(plan.jobOptions)).toEqual([key]);
    expect(Object.getOwnPropertyDescriptor(plan.jobOptions, key)?.value).toBe('1');
  });

  it('the example jobs refuse --set __proto__=1 as they refuse --set nope=1', async () => {
    for (const key of ['nope', '__proto__']) {
      const outcome = await swarmlet(['run', 'examples/merge-sort', ...quiet, '--set', `${key}=1`]);
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toContain(`--set ${key}: unknown option`);
    }
  });
});

describe('swarmlet run: modules that fail to load are named, in bounded time', () => {
  it('a task module that calls process.exit at import (it used to exit 0 with no output)', async () => {
    const outcome = await swarmlet(['run', 'test/fixtures/jobs/exits', ...quiet]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/exits-on-import\.task\.ts: it calls process\.exit\(0\) while loading\. Fix: /);
  });

  it('a job file that throws at import is named (it used to say "unexpected error")', async () => {
    const outcome = await swarmlet(['run', 'test/fixtures/jobs/throws', ...quiet]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).not.toMatch(/unexpected/);
    expect(outcome.stderr).toMatch(
      /job file test\/fixtures\/jobs\/throws\/job\.ts: it throws .*JOB_DATA_DIR is not set/,
    );
  });

  it('a task module with a 20 s loop at its top level is refused within the 10 s load bound (it took 41 s)', async () => {
    const outcome = await swarmlet(['run', 'test/fixtures/jobs/loops', ...quiet]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/loops-on-import\.task\.ts: it did not finish loading within 10 s/);
    expect(outcome.elapsedMs).toBeLessThan(15_000);
  });
});
