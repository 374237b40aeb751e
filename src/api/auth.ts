import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Whether a listen address keeps traffic on this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Whether a request's Host header names this machine's loopback (any port). A page of another site whose name was
 * made to resolve to 127.0.0.1 (DNS rebinding) is same-origin with itself, not with us, but sends its own name here:
 * refused, it cannot read what loopback serves without a token.
 */
export function isLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return false;
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d*$/, '');
  return name === '[::1]' || isLoopback(name.toLowerCase());
}

/**
 * Whether a browser says the request comes from a page of another site (Fetch Metadata), other than by following a
 * link: such a page may not hold live streams, make the swarm work or try changes. Clients that are no browser send
 * no such header and are judged by the token alone.
 */
export function isFromOtherSite(headers: Record<string, string | string[] | undefined>): boolean {
  const site = headers['sec-fetch-site'];
  return (site === 'cross-site' || site === 'same-site') && headers['sec-fetch-mode'] !== 'navigate';
}

/** A fresh token for a server given none: reads stay open on loopback, changes always need it. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Compares a request's `Authorization: Bearer …` with the token in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  return tokenMatches(header.slice('Bearer '.length).trim(), token);
}

/** Compares a given token (a header's, a query's) with the token in constant time (its length aside). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
