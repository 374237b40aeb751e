import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Environment } from '../core/environment.js';
import { InputError } from '../core/errors.js';
import { bearerMatches, isFromOtherSite, isLoopback, isLoopbackHost, newToken, tokenMatches } from './auth.js';
import { serveDashboard } from './dashboard-files.js';
import { LiveFeed } from './live-feed.js';
import { openLiveStream } from './live-stream.js';
import { openApiDocument } from './openapi.js';
import type { Operations } from './operations.js';
import {
  answerClientError,
  bad,
  handlerError,
  MAX_PARAM_LENGTH,
  requestIssue,
  urlError,
  type ApiError,
} from './request-errors.js';
import { ROUTES, type Route } from './routes.js';

export interface ApiServerOptions {
  readonly operations: Operations;
  readonly environment: Environment;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Needed for changes always, and for everything off loopback; one is made when none is given on loopback. */
  readonly token?: string;
  /** The Prometheus exposition (api/metrics.ts), if served. */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
}

export interface ApiServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

/**
 * On every answer: scripts only from this server (an injected tag in the page runs nothing), no page may frame the
 * dashboard (clickjacking its cancel buttons), no content sniffing, no referrer (the page's address is nobody's).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Request bodies above this are refused (a job's payload limit is checked again by the runtime). */
const BODY_LIMIT_BYTES = 8 * 2 ** 20;
/** Live streams open at once (each dashboard holds one): more would only let a client pin the server's memory. */
export const MAX_LIVE_STREAMS = 64;
/** A request must arrive whole within this (a client trickling its headers holds a socket, no more). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Serves the HTTP API, the live event stream, /metrics, /openapi.json and the dashboard on one port. */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const open = isLoopback(options.host);
  if (!open && options.token === undefined)
    throw new InputError(
      'http.host',
      `${options.host} is reachable from other machines and no token was given`,
      'give --http-token-file FILE (a file holding a secret), or listen on 127.0.0.1',
      { value: '127.0.0.1' },
    );
  const token = options.token ?? newToken();
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Refusals before any route: answered in the API's error shape too, with the security headers.
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, request, reply) => {
      const { status, error: body } = urlError(error, request.url);
      void (reply as FastifyReply).code(status).headers(SECURITY_HEADERS).send({ error: body });
    },
  });
  // An empty body is no body (curl -X POST with a JSON content type); anything else must be JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text as string));
    } catch (error) {
      done(Object.assign(new Error(`is not JSON: ${(error as Error).message}`), { statusCode: 400 }), undefined);
    }
  });
  const feed = new LiveFeed(options.operations, options.environment.timers);
  const allowed = (request: FastifyRequest, mutates: boolean) =>
    (open && !mutates) ||
    bearerMatches(request.headers.authorization, token) ||
    // A query token only reads: URLs end up in logs and histories.
    (!mutates && tokenMatches(queryToken(request), token));
  const refuse = (reply: FastifyReply, error: ApiError) => reply.code(error.status).send({ error: error.error });
  const unauthorized = bad('authorization', 'missing or wrong token', 'send the header Authorization: Bearer <token>');

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (isFromOtherSite(request.headers))
      return refuse(
        reply,
        bad('origin', 'a page of another site may not call this API', 'open the dashboard this server serves', 403),
      );
  });
  // Loopback reads need no token, so a page whose name was rebound to 127.0.0.1 must not be answered by name.
  if (open)
    app.addHook('onRequest', async (request, reply) => {
      if (!isLoopbackHost(request.headers.host))
        return refuse(
          reply,
          bad(
            'host',
            `this server answers only to its loopback names, not "${request.headers.host ?? ''}"`,
            'use the address the server printed (http://127.0.0.1:<port>, or localhost)',
            421,
          ),
        );
    });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    // fastify's own refusals: a body that is not JSON, too big, of another content type.
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) return refuse(reply, bad('request', 'internal error', 'retry; report it if it persists', 500));
    return refuse(reply, bad('body', error.message, 'send a JSON body (Content-Type: application/json)', status));
  });
  app.setNotFoundHandler((request, reply) =>
    refuse(reply, bad('url', `no route ${request.method} ${request.url.split('?')[0]}`, 'see /openapi.json', 404)),
  );

  for (const route of ROUTES) {
    app.route({
      method: route.method,
      url: route.path,
      // Before the body is read: without the token, a change request costs no parsing of up to BODY_LIMIT_BYTES.
      onRequest: async (request, reply) => {
        if (!allowed(request, route.mutates === true)) return refuse(reply, { ...unauthorized, status: 401 });
      },
      handler: async (request, reply) => answer(route, options.operations, request, reply, refuse),
    });
  }
  app.get('/openapi.json', async () => openApiDocument(ROUTES));
  app.get('/metrics', async (request, reply) => {
    if (!allowed(request, false)) return refuse(reply, { ...unauthorized, status: 401 });
    if (!options.metrics) return refuse(reply, bad('url', 'metrics are not served here', 'start with metrics', 404));
    const { contentType, body } = await options.metrics();
    return reply.type(contentType).send(body);
  });
  app.get('/api/events', (request, reply) => {
    if (!allowed(request, false)) return void refuse(reply, { ...unauthorized, status: 401 });
    if (feed.listening >= MAX_LIVE_STREAMS)
      return void refuse(
        reply,
        bad('url', `${MAX_LIVE_STREAMS} live streams are open`, 'close one, or poll /api/jobs', 429),
      );
    openLiveStream(feed, reply, SECURITY_HEADERS, refuse);
  });
  serveDashboard(app);

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    token,
    close: async () => {
      // Live streams never end on their own: close them so the server can.
      app.server.closeAllConnections?.();
      await app.close();
    },
  };
}

async function answer(
  route: Route,
  operations: Operations,
  request: FastifyRequest,
  reply: FastifyReply,
  refuse: (reply: FastifyReply, error: ApiError) => FastifyReply,
): Promise<unknown> {
  const params = route.params ? route.params.safeParse(request.params) : { success: true as const, data: {} };
  if (!params.success) return refuse(reply, requestIssue('params', params.error.issues, request.params));
  const rawQuery = withoutToken(request.query);
  const query = route.query ? route.query.safeParse(rawQuery) : { success: true as const, data: rawQuery };
  if (!query.success) return refuse(reply, requestIssue('query', query.error.issues, rawQuery));
  try {
    const result = await route.handle(operations, { params: params.data, query: query.data, body: request.body });
    return reply.code(route.ok.status).send(result);
  } catch (error) {
    const known = handlerError(error);
    if (known) return refuse(reply, known);
    throw error;
  }
}

function queryToken(request: FastifyRequest): string | undefined {
  const token = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' ? token : undefined;
}

/** The token may ride in the query (an EventSource cannot set headers): it is no parameter of any route. */
function withoutToken(query: unknown): object {
  if (typeof query !== 'object' || query === null) return {};
  const { token: _token, ...rest } = query as Record<string, unknown>;
  return rest;
}

/** Why the server could not listen, as bad input naming the option (a port in use, an address not here). */
export function listenError(error: unknown, http: { port: number; host: string }): Error {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE')
    return new InputError(
      'http.port',
      `port ${http.port} on ${http.host} is in use`,
      'give another port, or 0 for any free one',
      { value: 0 },
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new InputError('http.host', `${http.host} is not an address of this machine`, 'listen on 127.0.0.1', {
      value: '127.0.0.1',
    });
  return error instanceof Error ? error : new Error(String(error));
}
