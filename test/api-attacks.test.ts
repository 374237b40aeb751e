import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Timers } from '../src/core/environment.js';
import type { Operations } from '../src/api/operations.js';
import { Unavailable } from '../src/api/request-errors.js';
import { MAX_LIVE_STREAMS, startApiServer, type ApiServer } from '../src/api/server.js';
import type { DecisionView, JobView, StatusView } from '../src/api/schemas.js';
import { wallEnvironment } from '../src/runtime/local/wall-environment.js';
import { Swarm } from '../src/swarm.js';

// Attacks on the HTTP API from outside: other websites (simple requests, CORS, DNS rebinding), slow or greedy clients
// of the live stream, and reads that throw. The operations are a stub that records every change asked of it.

const status: StatusView = {
  mode: 'embedded',
  policy: 'adaptive',
  uptimeMs: 1,
  nowMs: 1,
  jobs: { running: 1, done: 0, failed: 0 },
  microTasksDone: 0,
  throughputPerSec: 0,
  swarmlets: [],
};
const job: JobView = {
  id: '1',
  label: 'noop ×1',
  priority: 'normal',
  state: 'running',
  submittedAtMs: 0,
  wallMs: 1,
  done: 0,
  total: 1,
  byType: [],
};

interface Stub extends Operations {
  readonly changes: string[];
  decisionsLogged: DecisionView[];
  failReads?: Error;
}

function stubOperations(): Stub {
  const read =
    <T>(value: () => T) =>
    () => {
      if (stub.failReads) throw stub.failReads;
      return value();
    };
  const stub: Stub = {
    mode: 'embedded',
    changes: [],
    decisionsLogged: [],
    status: read(() => status),
    jobs: read(() => [job]),
    submit: async (body) => {
      stub.changes.push(`submit ${JSON.stringify(body)}`);
      return { jobId: '2' };
    },
    cancel: async (id) => {
      stub.changes.push(`cancel ${id}`);
      return 'cancelled';
    },
    swarmlets: read(() => []),
    nodes: read(() => []),
    decisions: (after, limit) => stub.decisionsLogged.filter((d) => d.seq > after).slice(0, limit),
    anomalies: read(() => []),
    forecasts: read(() => []),
    logs: read(() => []),
    metrics: () => {
      throw new Error('not served');
    },
  };
  return stub;
}

/** Timers the test ticks by hand: the live feed's looks happen when the test says. */
function manualTimers(): Timers & { tick(): void; readonly active: number } {
  const runs = new Set<() => void>();
  return {
    every(_ms, run) {
      runs.add(run);
      return () => runs.delete(run);
    },
    after: wallEnvironment.timers.after,
    tick: () => {
      for (const run of runs) run();
    },
    get active() {
      return runs.size;
    },
  };
}

let server: ApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(operations: Operations, extra: { host?: string; token?: string; timers?: Timers } = {}) {
  server = await startApiServer({
    operations,
    environment: { clock: wallEnvironment.clock, timers: extra.timers ?? wallEnvironment.timers },
    host: extra.host ?? '127.0.0.1',
    port: 0,
    ...(extra.token !== undefined && { token: extra.token }),
  });
  return server;
}

/** A raw HTTP/1.1 request (fetch cannot set Host): the status line and headers of the answer. */
async function raw(url: string, request: string): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
  socket.write(request);
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head, body };
}

describe('requests another website can make', () => {
  it('a text/plain POST (no preflight) neither submits nor cancels, even with the token in the query', async () => {
    const ops = stubOperations();
    const { url, token } = await start(ops);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const submit = await fetch(`${url}/api/jobs?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': type, origin: 'https://evil.example' },
        body: '{"type":"noop","input":1}',
      });
      expect(submit.status, type).toBeGreaterThanOrEqual(400);
      const cancel = await fetch(`${url}/api/jobs/1/cancel?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': type, origin: 'https://evil.example' },
        body: '',
      });
      expect(cancel.status, type).toBeGreaterThanOrEqual(400);
    }
    expect(ops.changes).toEqual([]);
  });

  it('grants no other origin the right to read: no CORS headers, and the preflight of a JSON POST fails', async () => {
    const { url } = await start(stubOperations());
    const read = await fetch(`${url}/api/jobs`, { headers: { origin: 'https://evil.example' } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${url}/api/jobs`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.ok).toBe(false);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('refuses a loopback request whose Host is another name (DNS rebinding) and answers its own names', async () => {
    const { url } = await start(stubOperations());
    const port = new URL(url).port;
    const get = (host: string, path = '/api/jobs') =>
      raw(url, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost'])
      expect((await get(host)).status, host).toBe(200);
    for (const path of ['/api/jobs', '/api/events', '/api/status', '/openapi.json', '/']) {
      const rebound = await get(`evil.example:${port}`, path);
      expect(rebound.status, path).toBe(421);
      expect(JSON.parse(rebound.body).error.field).toBe('host');
    }
    expect((await get(`127.0.0.1.evil.example:${port}`)).status).toBe(421);
    expect((await get(`localhost.evil.example:${port}`)).status).toBe(421);
  });
});

describe('malformed requests', () => {
  it('are refused in the API error shape, naming the field, whether fastify or Node refuses them', async () => {
    const { url } = await start(stubOperations());
    const port = new URL(url).port;
    const cases: [string, number, string][] = [
      [`GET /api/jobs/%zz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, 400, 'url'],
      [`GET /api/jobs/${'9'.repeat(300)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, 400, 'url'],
      [`GET /api/jobs?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 431, 'url'],
      ['NOT HTTP AT ALL\r\n\r\n', 400, 'request'],
    ];
    for (const [request, status, field] of cases) {
      const answer = await raw(url, request);
      expect(answer.status, request.slice(0, 30)).toBe(status);
      expect(JSON.parse(answer.body), request.slice(0, 30)).toMatchObject({ error: { field } });
    }
  });
});

describe('the token', () => {
  it('is asked for before a change request is read: no token, no parsing of its body', async () => {
    const ops = stubOperations();
    const { url } = await start(ops);
    const huge = `[${'1,'.repeat(3 * 2 ** 20)}`; // 6 MB that is not even JSON
    const answer = await fetch(`${url}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error: { field: string } }).error.field).toBe('authorization');
    expect(ops.changes).toEqual([]);
  });

  it('off loopback guards every read too (the dashboard files and the OpenAPI document stay open)', async () => {
    const { url, token } = await start(stubOperations(), { host: '0.0.0.0', token: 'a-secret-of-the-operator' });
    const local = url.replace('0.0.0.0', '127.0.0.1');
    for (const path of ['/api/jobs', '/api/status', '/api/decisions', '/api/events', '/metrics']) {
      expect((await fetch(`${local}${path}`)).status, path).toBe(401);
      expect((await fetch(`${local}${path}?token=wrong-secret-of-the-operat`)).status, path).toBe(401);
    }
    expect((await fetch(`${local}/api/jobs?token=${token}`)).status).toBe(200);
    expect((await fetch(`${local}/api/jobs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    for (const path of ['/', '/dashboard/main.js', '/openapi.json'])
      expect((await fetch(`${local}${path}`)).status, path).toBe(200);
    // Another name is fine here: whoever reaches this address needs the token anyway.
    expect(
      (await raw(local, `GET /api/jobs?token=${token} HTTP/1.1\r\nHost: swarm.lan\r\nConnection: close\r\n\r\n`))
        .status,
    ).toBe(200);
  });
});

describe('headers that keep the dashboard out of other pages', () => {
  it('sends a script-src self policy, no framing, no sniffing and no referrer on the page, its files and answers', async () => {
    const { url } = await start(stubOperations());
    for (const path of ['/', '/dashboard/main.js', '/vendor/uplot.js', '/api/jobs', '/openapi.json', '/nope']) {
      const { headers } = await fetch(`${url}${path}`);
      const policy = headers.get('content-security-policy') ?? '';
      expect(policy, path).toMatch(/(^|; )script-src 'self'(;|$)/);
      expect(policy, path).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
      expect(policy, path).toMatch(/(^|; )default-src 'self'(;|$)/);
      expect(headers.get('x-frame-options'), path).toBe('DENY');
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('referrer-policy'), path).toBe('no-referrer');
    }
  });
});

describe('the live stream under greedy and slow clients', () => {
  it('gives a slot back when its client goes away', async () => {
    const timers = manualTimers();
    const { url } = await start(stubOperations(), { timers });
    for (let round = 0; round < 2; round++) {
      const aborts = Array.from({ length: MAX_LIVE_STREAMS }, () => new AbortController());
      const streams = await Promise.all(aborts.map((a) => fetch(`${url}/api/events`, { signal: a.signal })));
      expect(streams.map((r) => r.status)).toEqual(streams.map(() => 200));
      expect((await fetch(`${url}/api/events`)).status).toBe(429);
      // The streams are held past the check: fetch closes a response the garbage collector takes (a slot freed early).
      expect(streams).toHaveLength(MAX_LIVE_STREAMS);
      for (const abort of aborts) abort.abort();
      await vi.waitFor(() => expect(timers.active).toBe(0)); // nobody listens: the feed stops looking
    }
  });

  it('drops a client that reads nothing instead of buffering for it without bound', async () => {
    const timers = manualTimers();
    const ops = stubOperations();
    const { url } = await start(ops, { timers });
    const { port } = new URL(url);
    const socket: Socket = connect(Number(port), '127.0.0.1');
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause(); // reads no more
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const reason = 'x'.repeat(2000);
    // 40 MB of decisions: more than the kernel buffers of both ends hold.
    for (let tick = 0; tick < 40 && timers.active > 0; tick++) {
      const first = ops.decisionsLogged.length;
      for (let i = 0; i < 500; i++) ops.decisionsLogged.push({ seq: first + i, atMs: 0, kind: 'replicate', reason });
      timers.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await vi.waitFor(() => expect(timers.active).toBe(0));
    socket.resume();
    await closed;
  });

  it('answers 503 naming the director when the reads cannot answer yet, and a failing look leaves the stream open', async () => {
    const timers = manualTimers();
    const ops = stubOperations();
    ops.failReads = new Unavailable('director', 'this process does not hold the director lease yet', 'retry');
    const { url } = await start(ops, { timers });
    const early = await fetch(`${url}/api/events`);
    expect(early.status).toBe(503);
    expect(((await early.json()) as { error: { field: string } }).error.field).toBe('director');
    expect(timers.active).toBe(0);

    ops.failReads = undefined;
    const abort = new AbortController();
    const stream = await fetch(`${url}/api/events`, { signal: abort.signal });
    const reader = stream.body!.getReader();
    ops.failReads = new Error('a read broke');
    for (let i = 0; i < 10; i++) timers.tick(); // would be an uncaught exception in a timer: the process gone
    ops.failReads = undefined;
    ops.decisionsLogged.push({ seq: 0, atMs: 0, kind: 'replicate', reason: 'after the storm' });
    timers.tick();
    let text = '';
    while (!text.includes('after the storm')) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
  });
});

describe('job ids', () => {
  it('cancels a job by its id only, not by another spelling of the number (0x1, 1e0, 1.0, 01)', async () => {
    const swarm = await Swarm.start({ tasks: ['test/fixtures/busy.task.ts'], maxSwarmlets: 1, http: { port: 0 } });
    try {
      const { url, token } = swarm.http!;
      const running = swarm.submit({ type: 'busy', input: { ms: 60_000 } });
      const ended = running.done.catch(() => {});
      const cancel = (id: string) =>
        fetch(`${url}/api/jobs/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      for (const alias of ['0x1', '1e0', '1.0', '01', '0b1']) {
        const answer = await cancel(alias);
        expect(answer.status, alias).toBe(400);
        expect(((await answer.json()) as { error: { field: string } }).error.field).toBe('id');
      }
      expect(swarm.jobs()[0]!.state).toBe('running');
      expect(await (await cancel(String(running.jobId))).json()).toEqual({ jobId: '1', state: 'cancelled' });
      await ended;
    } finally {
      await swarm.stop();
    }
  });
});

describe('requests from pages of other sites', () => {
  it('are refused unless the browser navigates there: no live stream, no read, no change request reaches the swarm', async () => {
    const ops = stubOperations();
    const { url, token } = await start(ops);
    const port = new URL(url).port;
    const from = (site: string, mode: string, init: RequestInit = {}) =>
      fetch(`${url}${init.method === 'POST' ? '/api/jobs/1/cancel' : '/api/events'}`, {
        ...init,
        headers: { 'sec-fetch-site': site, 'sec-fetch-mode': mode, ...(init.headers as Record<string, string>) },
      });
    for (const site of ['cross-site', 'same-site']) {
      const stream = await from(site, 'cors');
      expect(stream.status, site).toBe(403);
      expect(((await stream.json()) as { error: { field: string } }).error.field).toBe('origin');
      // Even a page that somehow had the token: the browser says where the request comes from.
      const post = await from(site, 'cors', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(post.status).toBe(403);
      // Following a link to the dashboard from another site still opens it (fetch always says mode cors).
      const link = await raw(
        url,
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Site: ${site}\r\nSec-Fetch-Mode: navigate\r\n` +
          'Connection: close\r\n\r\n',
      );
      expect(link.status).toBe(200);
    }
    expect(ops.changes).toEqual([]);
    for (const site of ['same-origin', 'none']) {
      const abort = new AbortController();
      expect((await from(site, 'cors', { signal: abort.signal })).status, site).toBe(200);
      abort.abort();
    }
  });
});
