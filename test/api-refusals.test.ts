import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { errorSchema } from '../src/api/schemas.js';
import { Swarm } from '../src/swarm.js';

// Requests refused before any route sees them (node's HTTP parser, fastify's router) answer in the API's error shape
// too: JSON naming the field, not fastify's `{ error: "Bad Request", message: "Client Error", statusCode }`.
let swarm: Swarm;
beforeAll(async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/noop.task.ts'], maxSwarmlets: 1, http: { port: 0 } });
});
afterAll(async () => {
  await swarm?.stop();
});

const TIMEOUT_MS = 5_000;
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** Bytes as they are written on a fresh connection, and the whole answer the server writes before it closes. */
function sendRaw(bytes: string): Promise<Answer> {
  const { hostname, port } = new URL(swarm.http!.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let text = '';
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('no answer')));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        contentType: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
        body,
      });
    });
  });
}

// Findings of the fuzzer: refusals made before any route (node's parser, fastify's router) answered in fastify's own
// shape ({ error: "Bad Request", message: "Client Error", statusCode }), not the API's.
it.each([
  ['headers over 16 KB', `GET /api/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'url'],
  ['a malformed request', 'HELLO\r\n\r\n', 400, 'request'],
  ['a bad percent-escape', 'GET /% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'url'],
  [
    'an id over 200 characters',
    `GET /api/jobs/${'9'.repeat(201)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    400,
    'url',
  ],
])('%s is answered in the API error shape', async (_name, bytes, status, field) => {
  const answer = await sendRaw(bytes);
  expect(answer.status).toBe(status);
  expect(answer.contentType).toMatch(/^application\/json/);
  expect(errorSchema.parse(JSON.parse(answer.body)).error.field).toBe(field);
});

it('an id of 200 characters, the most the schema allows, reaches the route (the router cut path parameters at 100)', async () => {
  const answer = await sendRaw(
    `GET /api/jobs/${'9'.repeat(200)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
  );
  expect(answer.status).toBe(404);
  expect(errorSchema.parse(JSON.parse(answer.body)).error.field).toBe('id');
});
