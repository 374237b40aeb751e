import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobCancelledError } from '../src/core/errors.js';
import { Swarm } from '../src/swarm.js';
import { MAX_LIVE_STREAMS } from '../src/api/server.js';

// The HTTP API over a real embedded swarm: submit, follow, cancel one job while another runs on, decisions by page.
const tasks = ['test/fixtures/noop.task.ts', 'test/fixtures/busy.task.ts'];
let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

const busyJob = (count: number, ms: number) => ({
  tasks: Array.from({ length: count }, (_, i) => ({ id: `b${i}`, type: 'busy', input: { ms } })),
});

/** The API's answers as the tests read them (the contract tests check them against the OpenAPI schemas). */
interface Answer {
  jobId: string;
  state: string;
  done: number;
  next: number;
  error: { field: string; fix: string };
  jobs: { id: string; state: string; done: number; byType: unknown[] }[];
  decisions: { seq: number; reason: string }[];
  swarmlets: { served: { taskType: string }[] }[];
  paths: Record<string, unknown>;
}

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${swarm!.http!.url}${path}`, { ...init, headers });
  return { status: response.status, body: (await response.json()) as Answer };
}

describe('the HTTP API of an embedded swarm', () => {
  it('submits, lists and cancels one job without touching the other', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20, http: { port: 0 } });
    const token = swarm.http!.token;
    const long = await call('/api/jobs', { method: 'POST', body: JSON.stringify(busyJob(200, 20)), token });
    const short = await call('/api/jobs', { method: 'POST', body: JSON.stringify(busyJob(20, 5)), token });
    expect(long.status).toBe(201);
    expect(short.status).toBe(201);
    await vi.waitFor(async () => {
      const job = (await call(`/api/jobs/${long.body.jobId}`)).body;
      expect(job.state).toBe('running');
      expect(job.done).toBeGreaterThan(0);
    });
    const cancelled = await call(`/api/jobs/${long.body.jobId}/cancel`, { method: 'POST', token });
    expect(cancelled).toEqual({ status: 200, body: { jobId: long.body.jobId, state: 'cancelled' } });
    await vi.waitFor(async () => expect((await call(`/api/jobs/${short.body.jobId}`)).body.state).toBe('done'), {
      timeout: 10_000,
    });
    const jobs = (await call('/api/jobs')).body.jobs;
    const longView = jobs.find((j) => j.id === long.body.jobId)!;
    expect(longView.state).toBe('cancelled');
    expect(longView.done).toBeLessThan(200);
    expect(jobs.find((j) => j.id === short.body.jobId)!.byType).toEqual([
      { taskType: 'busy', total: 20, done: 20, running: 0 },
    ]);
    // Nothing of the cancelled job is left to run: the queue drains and the swarmlets go idle.
    await vi.waitFor(() => expect(swarm!.swarmlets().every((s) => s.inFlight === 0)).toBe(true), { timeout: 5_000 });
    expect(swarm.summary().taskTypes.find((t) => t.taskType === 'busy')!.done).toBeLessThan(220);
  });

  it('refuses changes without the token and answers bad input with the field and a fix', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 1, http: { port: 0 } });
    const unauthorized = await call('/api/jobs', { method: 'POST', body: JSON.stringify(busyJob(1, 1)) });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.error.field).toBe('authorization');
    const badJob = await call('/api/jobs', {
      method: 'POST',
      body: JSON.stringify({ type: 'nope' }),
      token: swarm.http!.token,
    });
    expect(badJob.status).toBe(400);
    expect(badJob.body.error.field).toBe('job.type');
    expect(badJob.body.error.fix).toMatch(/busy|noop/);
    const badQuery = await call('/api/jobs?limit=0');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error.field).toBe('query.limit');
    const unknown = await call('/api/jobs/999');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.field).toBe('id');
  });

  it('pages through the decisions and shows which type each swarmlet served', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20, http: { port: 0 } });
    await swarm.run(busyJob(20, 5));
    await swarm.run({ tasks: [{ id: 'n', type: 'noop', input: 1 }] });
    const first = (await call('/api/decisions?limit=1')).body;
    expect(first.decisions).toHaveLength(1);
    const rest = (await call(`/api/decisions?after=${first.next}`)).body;
    const all = [...first.decisions, ...rest.decisions];
    expect(all.map((d) => d.seq)).toEqual(all.map((_, i) => i));
    expect(all.every((d) => d.reason.length > 0)).toBe(true);
    const swarmlets = (await call('/api/swarmlets')).body.swarmlets;
    expect(swarmlets.some((s) => s.served.some((x) => x.taskType === 'busy'))).toBe(true);
    const doc = (await call('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toContain('/api/jobs/{id}/cancel');
  });
});

describe('job control from code', () => {
  it('submit gives the id at once; cancel rejects that job alone with JobCancelledError', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 2, tickMs: 20 });
    const long = swarm.submit(busyJob(300, 10));
    const other = swarm.submit(busyJob(10, 2));
    const failure = long.done.catch((error: unknown) => error);
    expect(await swarm.cancel(long.jobId)).toBe(true);
    expect(await swarm.cancel(long.jobId)).toBe(false);
    expect(await failure).toBeInstanceOf(JobCancelledError);
    expect(Object.keys((await other.done) as object)).toHaveLength(10);
    expect(swarm.jobs().map((j) => [j.id, j.state])).toEqual([
      [other.jobId, 'done'],
      [long.jobId, 'cancelled'],
    ]);
  });
});

describe('the live event stream', () => {
  it('streams status and jobs at once, and refuses streams past its limit with a JSON error', async () => {
    swarm = await Swarm.start({ tasks, maxSwarmlets: 1, http: { port: 0 } });
    const aborts: AbortController[] = [];
    // Each response is held: fetch closes the connection of a response the garbage collector takes (that closed
    // streams under load, and the 65th found room).
    const held: Response[] = [];
    const open = async () => {
      const abort = new AbortController();
      aborts.push(abort);
      const response = await fetch(`${swarm!.http!.url}/api/events`, { signal: abort.signal });
      held.push(response);
      return response;
    };
    try {
      const first = await open();
      expect(first.headers.get('content-type')).toBe('text/event-stream');
      const reader = first.body!.getReader();
      let text = '';
      while (!text.includes('event: jobs')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toMatch(/event: status\ndata: \{"mode":"embedded"/);
      for (let i = 1; i < MAX_LIVE_STREAMS; i++) expect((await open()).status).toBe(200);
      const refused = await open();
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as Answer).error.field).toBe('url');
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });
});
