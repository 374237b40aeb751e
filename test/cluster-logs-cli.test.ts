/**
 * `swarmlet serve` and `swarmlet agent` log JSON, one event per line on stdout, with the ids as fields (the built CLI
 * on a real Redis); a bad --log-level or --log-format is refused naming the flag.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { realCluster, waitFor } from './support/cluster.js';
import { TRUST_ARGS } from './support/signing.js';
import { failing } from './support/swarmlet-cli.js';

const cluster = realCluster();

/** A CLI process whose stdout is kept apart from its stderr. */
function cli(args: string[]) {
  const child = spawn(process.execPath, ['dist/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cluster.spawned({ process: child, output: () => stdout, stop: async () => (child.kill('SIGKILL'), exited) });
  return { stdout: () => stdout, stop: () => (child.kill('SIGTERM'), exited) };
}

interface Event {
  level: string;
  time: number;
  msg: string;
  [field: string]: unknown;
}

function events(stdout: string): Event[] {
  const lines = stdout.split('\n').filter((line) => line !== '');
  return lines.map((line) => {
    const event = JSON.parse(line) as Event; // throws on any line that is not one JSON object
    expect(event, line).toMatchObject({
      level: expect.stringMatching(/^(trace|debug|info|warn|error)$/),
      time: expect.any(Number),
      msg: expect.any(String),
    });
    return event;
  });
}

it('serve and agent with --log-format json: every stdout line is an event; the known ones carry their ids', async () => {
  const url = cluster.server().url;
  const serve = cli(['serve', '--redis', url, '--tick-ms', '100', '--node-ttl-ms', '1500', '--log-format', 'json']);
  const cacheDir = join(mkdtempSync(join(tmpdir(), 'swarmlet-logs-')), 'cache');
  const agent = cli([
    'agent',
    '--redis',
    url,
    '--node-id',
    'a1',
    '--cache-dir',
    cacheDir,
    '--log-format',
    'json',
    ...TRUST_ARGS,
  ]);
  await waitFor('the director to see the agent', () => /node a1: unseen → alive/.test(serve.stdout()));
  await waitFor('the agent to join', () => /joined/.test(agent.stdout()));
  await Promise.all([agent.stop(), serve.stop()]);

  const director = events(serve.stdout());
  expect(director.find((e) => e.msg.startsWith('director up'))).toMatchObject({
    level: 'info',
    prefix: 'swarmlet',
    redis: url,
  });
  expect(director.find((e) => e.msg.startsWith('node a1: unseen → alive'))).toMatchObject({
    level: 'info',
    nodeId: 'a1',
    from: 'unseen',
    to: 'alive',
  });
  const node = events(agent.stdout());
  expect(node.find((e) => / joined /.test(e.msg))).toMatchObject({ level: 'info', nodeId: 'a1', prefix: 'swarmlet' });
  expect(node.find((e) => e.msg.startsWith('SIGTERM: leaving'))).toMatchObject({ nodeId: 'a1', signal: 'SIGTERM' });
  expect(node.every((e) => e.nodeId === 'a1')).toBe(true); // every agent event says which node
});

it('a bad --log-level or --log-format: exit 2, naming the flag and the fix', async () => {
  const url = cluster.server().url;
  for (const command of ['serve', 'agent']) {
    const level = await failing([command, '--redis', url, '--log-level', 'loud']);
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/--log-level: "loud" is not a log level\. Fix: write --log-level info/);
    const format = await failing([command, '--redis', url, '--log-format', 'xml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/--log-format: "xml" is not a log format\. Fix: write --log-format json/);
  }
});
