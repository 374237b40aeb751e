/**
 * Attacks on signed bundles, with a real redis-server, a real director and real agent processes
 * (issue 12): each is refused, the client's job fails naming the task type and the reason within a
 * bound, the director logs it, and no trojan code runs. A valid signed bundle still runs.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobInput } from '../src/core/job.js';
import { runOnCluster } from '../src/runtime/cluster/cluster-client.js';
import { keys, moduleRecordSchema, type JobOutcome } from '../src/runtime/cluster/protocol.js';
import { realCluster, spawnCli, startAgent, startDirector, waitFor } from './support/cluster.js';
import { TEST_SIGN_KEY } from './support/signing.js';

const TTL_MS = 1_500;
/** A refusal reaches the client within this (placement, the agent's load, one log round trip). */
const REFUSAL_BOUND_MS = 15_000;
const cluster = realCluster();
const SQUARE = ['test/fixtures/square.task.ts'];
const JOB: JobInput = { type: 'square-sum', input: { from: 0, to: 300 } };
const k = keys('swarmlet');

function startCluster(agentExtra: string[] = []) {
  const director = cluster.spawned(startDirector(cluster.server().url, TTL_MS));
  const agent = cluster.spawned(startAgent(cluster.server().url, 'a1', TTL_MS, agentExtra));
  return { director, agent };
}

const submit = (extra: Partial<Parameters<typeof runOnCluster>[2]> = {}) =>
  runOnCluster(SQUARE, JOB, { redisUrl: cluster.server().url, cacheDir: '.swarmlet/cache', ...extra });

/** A module prepended to real code: it leaves a file behind if it ever runs. */
function trojan(code: string): { code: string; marker: string } {
  const marker = join(mkdtempSync(join(tmpdir(), 'swarmlet-trojan-')), 'ran');
  return {
    code: `import { writeFileSync as pwn } from 'node:fs';\npwn(${JSON.stringify(marker)}, 'pwned');\n${code}`,
    marker,
  };
}

describe('signed bundles on a real cluster', () => {
  it('refuses an unsigned bundle: the job fails naming the type and the reason, the director logs it', async () => {
    const { director, agent } = startCluster();
    const startedAtMs = Date.now();
    const { outcome } = await submit();
    expect(Date.now() - startedAtMs).toBeLessThan(REFUSAL_BOUND_MS);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^task type "square-sum": bundle [0-9a-f]{16} refused by agent a1: it is unsigned\. Fix: sign it: swarmlet run --redis <url> --sign-key/,
    );
    await waitFor('the director to log the refusal', () =>
      /bundle of square-sum \([0-9a-f]{16}\) refused by agent a1: it is unsigned/.test(director.output()),
    );
    expect(agent.output()).toMatch(/refused: bundle of square-sum \([0-9a-f]{16}\) refused: it is unsigned/);
  });

  it('refuses a bundle signed by a key the agent does not trust, naming the key', async () => {
    startCluster();
    const { outcome } = await submit({ signKey: generateKeyPairSync('ed25519').privateKey });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /refused by agent a1: it is signed by key [0-9a-f]{16}, which this agent does not trust \(trusted: [0-9a-f]{16}\)\. Fix: sign with a key the agent trusts/,
    );
  });

  it('refuses code tampered under a valid hash and a real signature (raw SET on the module record)', async () => {
    const redis = cluster.redis();
    const director = cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    // The client stores the signed bundle and logs the job; no agent yet.
    const running = submit({ signKey: TEST_SIGN_KEY });
    await waitFor('the job to be queued', async () => (await redis.keys(`${k.queuePrefix}:square-sum*`)).length > 0);
    const legit = moduleRecordSchema.parse(JSON.parse((await redis.get(k.module('square-sum')))!));
    const { code, marker } = trojan(legit.code);
    await redis.set(k.module('square-sum'), JSON.stringify({ ...legit, code })); // same hash, same signature
    cluster.spawned(startAgent(cluster.server().url, 'a1', TTL_MS));
    const { outcome } = await running;
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toContain(
      `task type "square-sum": bundle ${legit.hash} refused by agent a1: its code does not match its hash`,
    );
    expect(director.output()).toContain('its code does not match its hash');
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses a trojan written into the agent's cache under a legitimate hash, across restarts; then runs the real code", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'swarmlet-agent-cache-'));
    const redis = cluster.redis();
    cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    const first = cluster.spawned(startAgent(cluster.server().url, 'a1', TTL_MS, ['--cache-dir', cacheDir]));
    const signed = { signKey: TEST_SIGN_KEY, jobKey: randomUUID() };
    expect((await submit(signed)).outcome.status).toBe('done'); // a valid signed bundle runs
    const directory = join(cacheDir, 'cluster');
    const [file] = readdirSync(directory).filter((name) => name.endsWith('.mjs'));
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    await first.stop('SIGTERM');
    const { code, marker } = trojan(readFileSync(join(directory, file!), 'utf8'));
    writeFileSync(join(directory, file!), code);
    await redis.flushall(); // the poison lives on disk, not in Redis
    cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    cluster.spawned(startAgent(cluster.server().url, 'a1', TTL_MS, ['--cache-dir', cacheDir]));
    const poisoned = await submit({ signKey: TEST_SIGN_KEY });
    expect(poisoned.outcome.status).toBe('failed');
    expect(poisoned.outcome.error).toMatch(
      /^task type "square-sum": bundle [0-9a-f]{16} refused by agent a1: the agent's cached file .* does not match its hash/,
    );
    expect(existsSync(marker)).toBe(false);
    const again = await submit({ signKey: TEST_SIGN_KEY });
    expect(again.outcome.status).toBe('done'); // the removed file is written anew from the verified bundle
    expect(again.outcome.output).toEqual((await submit(signed)).outcome.output);
    expect(existsSync(marker)).toBe(false);
  });

  it('from the command line: keys new, a signed run, and an unsigned run refused with exit code 1', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swarmlet-keys-'));
    const made = spawnCli(['keys', 'new', '--out', out]);
    await new Promise((resolve) => made.process.once('exit', resolve));
    expect(made.process.exitCode).toBe(0);
    expect(statSync(join(out, 'swarmlet-signing.key')).mode & 0o777).toBe(0o600);
    expect(made.output()).toMatch(/^key [0-9a-f]{16}\n/);
    const again = spawnCli(['keys', 'new', '--out', out]);
    await new Promise((resolve) => again.process.once('exit', resolve));
    expect(again.process.exitCode).toBe(2);
    expect(again.output()).toContain(
      '--out: "' + out + '" already holds swarmlet-signing.key. Fix: give another directory',
    );
    const url = cluster.server().url;
    cluster.spawned(startDirector(url, TTL_MS));
    cluster.spawned(startAgent(url, 'a1', TTL_MS, ['--trust', join(out, 'swarmlet-signing.pub')]));
    const run = (extra: string[]) =>
      spawnCli(['run', 'examples/merge-sort', '--set', 'length=20000', '--redis', url, '--no-progress', ...extra]);
    // Unsigned first: a swarmlet already serving the same code (verified when it loaded) would keep serving it.
    const unsigned = run([]);
    await new Promise((resolve) => unsigned.process.once('exit', resolve));
    expect(unsigned.process.exitCode).toBe(1);
    expect(unsigned.output()).toMatch(/task type "[\w-]+": bundle [0-9a-f]{16} refused by agent a1: it is unsigned/);
    const signed = run(['--sign-key', join(out, 'swarmlet-signing.key')]);
    await new Promise((resolve) => signed.process.once('exit', resolve));
    expect(signed.output()).toMatch(/: done, \d+ micro-tasks/);
  });
});

describe('a signed type when only some agents trust its key', () => {
  /** An agent that trusts only a key of its own (so it refuses the test key's bundles); `price` ranks it. */
  function startDoubter(nodeId: string, price: string) {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-other-key-'));
    const other = join(dir, 'other.pub');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const args = ['agent', '--redis', cluster.server().url, '--node-id', nodeId, '--price', price];
    const timing = ['--ttl-ms', String(TTL_MS), '--heartbeat-ms', String(Math.round(TTL_MS / 4))];
    return cluster.spawned(spawnCli([...args, ...timing, '--trust', other]));
  }

  /** The job's outcome, or a failure naming the hang once `boundMs` has passed. */
  async function within(boundMs: number, running: Promise<{ outcome: JobOutcome }>): Promise<JobOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the job hung: no outcome within ${boundMs} ms`)), boundMs);
    });
    try {
      return (await Promise.race([running, hang])).outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  it('runs on the agent that trusts it, though the cheaper agent that does not refuses it first', async () => {
    const director = cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    const doubter = startDoubter('a1', '0');
    cluster.spawned(startAgent(cluster.server().url, 'a2', TTL_MS, ['--price', '0.01']));
    await waitFor('both agents', async () => (await cluster.redis().scard(k.nodes)) === 2);
    const expected = Array.from({ length: 300 }, (_, i) => i * i).reduce((a, b) => a + b, 0);
    for (let run = 0; run < 2; run++) {
      const outcome = await within(REFUSAL_BOUND_MS, submit({ signKey: TEST_SIGN_KEY, jobKey: randomUUID() }));
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'done', output: expected });
    }
    expect(doubter.output()).toMatch(/refused: bundle of square-sum \([0-9a-f]{16}\) refused: it is signed by key/);
    expect(director.output()).toMatch(/bundle of square-sum \([0-9a-f]{16}\) refused by agent a1/);
    // The auction says why a1 gets no more square-sum swarmlets.
    const decisions = (await cluster.redis().lrange(k.decisions, 0, -1)).map((raw) => JSON.parse(raw) as object);
    expect(JSON.stringify(decisions)).toMatch(/a1: filtered: refused the bundle of square-sum/);
  }, 60_000);

  it('fails, naming every refusal, when no live agent trusts it', async () => {
    cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    startDoubter('a1', '0');
    startDoubter('a2', '0.01');
    await waitFor('both agents', async () => (await cluster.redis().scard(k.nodes)) === 2);
    const outcome = await within(REFUSAL_BOUND_MS, submit({ signKey: TEST_SIGN_KEY }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^task type "square-sum": bundle [0-9a-f]{16} refused by agent a1: it is signed by key /,
    );
    expect(outcome.error).toMatch(/; refused by agent a2: it is signed by key /);
  }, 60_000);

  it('fails with the refusal, not a hang, when the agent that trusts it leaves mid-job', async () => {
    cluster.spawned(startDirector(cluster.server().url, TTL_MS));
    startDoubter('a1', '0');
    const trusting = cluster.spawned(startAgent(cluster.server().url, 'a2', TTL_MS, ['--price', '0.01']));
    await waitFor('both agents', async () => (await cluster.redis().scard(k.nodes)) === 2);
    const log = join(mkdtempSync(join(tmpdir(), 'swarmlet-partial-trust-')), 'work.log');
    const job = {
      tasks: Array.from({ length: 40 }, (_, i) => ({ id: `w${i}`, type: 'cluster-work', input: { ms: 200, log } })),
    };
    const running = runOnCluster(['test/fixtures/cluster-work.task.ts'], job, {
      redisUrl: cluster.server().url,
      cacheDir: '.swarmlet/cache',
      signKey: TEST_SIGN_KEY,
    });
    await waitFor('a2 to run micro-tasks', () => existsSync(log) && readFileSync(log, 'utf8').includes(' end '));
    await trusting.stop('SIGKILL');
    const outcome = await within(REFUSAL_BOUND_MS + TTL_MS, running);
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^task type "cluster-work": bundle [0-9a-f]{16} refused by agent a1: it is signed by key /,
    );
  }, 60_000);
});
