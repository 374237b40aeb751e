import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Whether a listen address keeps traffic on this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A fresh token for a server given none: reads stay open on loopback, changes always need it. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Compares a request's `Authorization: Bearer …` with the token in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
