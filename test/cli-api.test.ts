import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cancelledSchema, jobsSchema, logsSchema, statusSchema } from '../src/api/schemas.js';
import { ROOT } from './support/swarmlet-cli.js';

// The built CLI against a running swarm: `swarmlet run --dashboard` in the background, then jobs, status, cancel and
// logs as a user types them (they find the swarm through .swarmlet/http.json), and every error they promise.
const bin = join(ROOT, 'bin', 'swarmlet.js');
const httpFile = join(ROOT, '.swarmlet', 'http.json');
const scratch = mkdtempSync(join(tmpdir(), 'swarmlet-cli-api-'));
const noEnv = { ...process.env, SWARMLET_URL: '', SWARMLET_TOKEN: '' };

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd ?? ROOT, env: options.env ?? noEnv, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** `swarmlet run … --dashboard` started as a user starts it; resolves once it printed its dashboard line. */
function startRun(args: string[]): { child: ChildProcess; stderr: () => string; url: Promise<string> } {
  const child = spawn(process.execPath, [bin, 'run', ...args], { cwd: ROOT, env: noEnv });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /dashboard: (\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`run exited ${code}: ${stderr}`)));
  });
  return { child, stderr: () => stderr, url };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

// Each step spawns the built CLI (a Node start) beside a swarm kept busy: on a loaded 2-core machine (the suite beside
// CPU hogs) a test's dozen starts can pass 30 s.
describe('swarmlet jobs, status, cancel and logs against swarmlet run --dashboard', { timeout: 120_000 }, () => {
  let run: ReturnType<typeof startRun>;
  let written: { url: string; token: string };
  beforeAll(async () => {
    run = startRun([
      'test/fixtures/jobs/busy',
      '--set',
      'count=20000',
      '--set',
      'ms=5',
      '--max-swarmlets',
      '2',
      '--dashboard',
      '--port',
      '0',
      '--no-history',
      '--no-progress',
    ]);
    await run.url;
  });
  afterAll(async () => {
    if (run.child.exitCode === null) {
      run.child.kill('SIGTERM');
      await exited(run.child);
    }
  });

  it('prints the dashboard URL with its token and writes .swarmlet/http.json readable by its owner only', async () => {
    written = JSON.parse(readFileSync(httpFile, 'utf8')) as { url: string; token: string };
    expect(await run.url).toBe(`${written.url}/#token=${encodeURIComponent(written.token)}`);
    expect(written.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(httpFile).mode & 0o777).toBe(0o600);
  });

  it('jobs and status show the running job, as a table and as JSON the API schemas accept', async () => {
    await vi.waitFor(
      async () => {
        const jobs = jobsSchema.parse(JSON.parse((await cli(['jobs', '--json'])).stdout));
        expect(jobs.jobs).toHaveLength(1);
        expect(jobs.jobs[0]).toMatchObject({ id: '1', label: 'busy', state: 'running', total: 20000 });
        expect(jobs.jobs[0]!.done).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 300 },
    );
    const table = await cli(['jobs']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /^ID\s+LABEL\s+STATE\s+DONE\s+BY TYPE\s+WALL\n1\s+busy\s+running\s+\d+\/20000\s+busy \d+\/20000/,
    );
    const status = statusSchema.parse(JSON.parse((await cli(['status', '--json'])).stdout));
    expect(status).toMatchObject({ mode: 'embedded', policy: 'adaptive', jobs: { running: 1 } });
    const text = await cli(['status']);
    expect(text.stdout).toContain(`swarm at ${written.url}: embedded, policy adaptive`);
    expect(text.stdout).toMatch(/jobs: 1 running/);
    expect((await cli(['jobs', '--state', 'done', '--json'])).stdout).toMatch(/"jobs": \[\]/);
  });

  it('refusals name the flag or argument and a fix, exit 2, no stack', async () => {
    const unknownJob = await cli(['cancel', '999']);
    expect(unknownJob.code).toBe(2);
    expect(unknownJob.stderr).toBe(
      'swarmlet: job: no job 999 is running or recently ended. Fix: use an id that swarmlet jobs lists\n',
    );
    const badId = await cli(['cancel', '../1']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/^swarmlet: (job|url): /);
    const badState = await cli(['jobs', '--state', 'nope']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/^swarmlet: --state: "nope" is not a job state\. Fix: write --state running/);
    // Another spelling of the same swarm: .swarmlet/http.json's token goes to its own URL only.
    const elsewhere = written.url.replace('127.0.0.1', 'localhost');
    const noToken = await cli(['cancel', '1', '--url', elsewhere]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^swarmlet: --token-file: missing or wrong token .*Fix: give --token-file FILE/);
    const badUrl = await cli(['jobs', '--url', 'ftp://x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--url: "ftp:\/\/x" is not an http URL/);
    const badTokenFile = await cli(['cancel', '1', '--token-file', join(scratch, 'none')]);
    expect(badTokenFile.code).toBe(2);
    expect(badTokenFile.stderr).toMatch(/--token-file: cannot read .*ENOENT/);
    for (const outcome of [unknownJob, badId, badState, noToken, badUrl, badTokenFile]) noStack(outcome.stderr);
  });

  it('cancel stops the job; the dashboard serves on and says so; cancelling again answers its state', async () => {
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, `${written.token}\n`, { mode: 0o600 });
    // With the token from a file and the URL from SWARMLET_URL: no .swarmlet/http.json needed.
    const cancelled = await cli(['cancel', '1', '--json', '--token-file', tokenFile], {
      cwd: scratch,
      env: { ...noEnv, SWARMLET_URL: written.url },
    });
    expect(cancelled.code).toBe(0);
    expect(cancelledSchema.parse(JSON.parse(cancelled.stdout))).toEqual({ jobId: '1', state: 'cancelled' });
    await vi.waitFor(
      () => expect(run.stderr()).toMatch(/job cancelled; dashboard still at http:\S+ — Ctrl-C to stop/),
      {
        timeout: 10_000,
      },
    );
    const again = await cli(['cancel', '1']);
    expect(again).toMatchObject({ code: 0, stdout: 'job 1 cancelled\n' });
    const jobs = jobsSchema.parse(JSON.parse((await cli(['jobs', '--json', '--state', 'cancelled'])).stdout)).jobs;
    expect(jobs.map((j) => [j.id, j.state])).toEqual([['1', 'cancelled']]);
    expect(jobs[0]!.done).toBeLessThan(20000);
  });

  it('logs answers for a swarmlet and for a micro-task, empty or not', async () => {
    for (const id of ['s1', 'b0']) {
      const json = await cli(['logs', id, '--json']);
      expect(json.code).toBe(0);
      logsSchema.parse(JSON.parse(json.stdout));
      const text = await cli(['logs', id]);
      expect(text.code).toBe(0);
      if (text.stdout === '')
        expect(text.stderr).toMatch(/^nothing printed is kept for (swarmlet s1|micro-task b0)\n$/);
    }
  });

  it('Ctrl-C stops the swarm, removes .swarmlet/http.json and exits with the job outcome', async () => {
    run.child.kill('SIGINT');
    expect(await exited(run.child)).toBe(1); // the job was cancelled
    expect(run.stderr()).toMatch(/swarmlet: job 1 was cancelled\n$/);
    expect(existsSync(httpFile)).toBe(false);
    const none = await cli(['status']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'swarmlet: --url: no running swarm found. Fix: start one with `swarmlet run <job> --dashboard`, or give --url\n',
    );
  });
});

describe('the commands against servers that fail', () => {
  let server: Server;
  let url: string;
  const answers: Record<string, [number, string]> = {
    '/api/status': [500, JSON.stringify({ error: { field: 'request', message: 'internal error', fix: 'retry' } })],
    '/api/jobs': [404, '<html>not here</html>'],
    '/api/logs': [200, JSON.stringify({ lines: [{ atMs: 'yesterday' }] })],
  };
  beforeAll(async () => {
    server = createServer((request, response) => {
      const [status, body] = answers[request.url!.split('?')[0]!] ?? [404, ''];
      response.writeHead(status).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a server error exits 1 with its field, message and fix on one line', async () => {
    const outcome = await cli(['status', '--url', url]);
    expect(outcome).toMatchObject({
      code: 1,
      stderr: 'swarmlet: the swarm failed: request: internal error. Fix: retry\n',
    });
  });

  it('what is not a Swarmlet answer is said so, exit 1', async () => {
    const html = await cli(['jobs', '--url', url]);
    expect(html.code).toBe(1);
    expect(html.stderr).toMatch(/answered HTTP 404 without a Swarmlet error: is it a Swarmlet swarm\?/);
    const shape = await cli(['logs', 's1', '--url', url]);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toMatch(/something this CLI does not understand \(lines\.0\.atMs: /);
  });

  it('an unreachable swarm is one clear line, exit 1', async () => {
    const closed = await freePort();
    const outcome = await cli(['jobs', '--url', `http://127.0.0.1:${closed}`]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe(
      `swarmlet: cannot reach the swarm at http://127.0.0.1:${closed} (ECONNREFUSED): check --url\n`,
    );
  });
});

describe('swarmlet run --dashboard', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('--exit stops when the job ends: --json output as without --dashboard, the URL on stderr, the file removed', async () => {
    const outcome = await cli([
      'run',
      'test/fixtures/jobs/busy',
      '--set',
      'count=20',
      '--dashboard',
      '--exit',
      '--json',
      '--no-history',
      '--no-progress',
    ]);
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ job: 'busy', microTasks: 20 });
    expect(outcome.stderr).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=\S+\n/);
    expect(outcome.stderr).not.toMatch(/still at/);
    expect(existsSync(httpFile)).toBe(false);
  });

  it('a port in use is refused naming --port, with a fix that works', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const outcome = await cli(['run', 'test/fixtures/jobs/busy', '--dashboard', '--exit', '--port', String(port)]);
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toBe(`swarmlet: --port: port ${port} on 127.0.0.1 is in use. Fix: write --port 0\n`);
    } finally {
      taken.close();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
