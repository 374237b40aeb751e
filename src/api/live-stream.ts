import type { FastifyReply } from 'fastify';
import type { LiveEvent, LiveFeed } from './live-feed.js';
import { bad, handlerError, type ApiError } from './request-errors.js';

/**
 * Bytes a live stream may have waiting for its client: past this the client reads slower than the swarm talks (or
 * not at all) and is dropped; EventSource reconnects and reads the news it missed from the API.
 */
export const MAX_UNSENT_BYTES = 2 ** 20;

/** Answers a request for the live feed: the first events, then every event as it comes, until either side leaves. */
export function openLiveStream(
  feed: LiveFeed,
  reply: FastifyReply,
  headers: Record<string, string>,
  refuse: (reply: FastifyReply, error: ApiError) => unknown,
): void {
  // Subscribed before answering: reads that cannot answer yet (no director here) are a JSON error, not a mute stream.
  const first: string[] = [];
  let write = (text: string): void => void first.push(text);
  let unsubscribe: () => void;
  try {
    unsubscribe = feed.subscribe((event) => write(eventText(event)));
  } catch (error) {
    refuse(reply, handlerError(error) ?? bad('request', 'internal error', 'retry; report it if it persists', 500));
    return;
  }
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  write = (text) => {
    out.write(text);
    if (out.writableLength > MAX_UNSENT_BYTES) out.destroy();
  };
  write(`: live\n\n${first.join('')}`);
  // The response's close, not the request's: a request without a body may close as soon as it is read (Node 16+),
  // which would leave the stream open and mute.
  out.on('close', unsubscribe);
}

function eventText({ event, data }: LiveEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
