import { describe, expect, it } from 'vitest';
import { bearerMatches, isFromOtherSite, isLoopbackHost, tokenMatches } from '../src/api/auth.js';

// The token checks the server makes: header and query alike go through one constant-time compare.
describe('token and host checks', () => {
  it('matches a token exactly, from the header or the query', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    for (const given of [undefined, '', 's3cre', 's3cret ', 'S3CRET', 's3crét'])
      expect(tokenMatches(given, 's3cret'), String(given)).toBe(false);
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    for (const header of [undefined, 's3cret', 'bearer s3cret', 'Basic s3cret', 'Bearer '])
      expect(bearerMatches(header, 's3cret'), String(header)).toBe(false);
  });

  it('knows the loopback names a browser sends as Host, and no name that only starts like one', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:8080', 'localhost:1', 'LOCALHOST', '[::1]:9', '[::1]', '127.8.9.10:80'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      undefined,
      '',
      'evil.example',
      'localhost.evil.example',
      '127.0.0.1.nip.io:80',
      '[::2]:1',
      '0.0.0.0',
    ])
      expect(isLoopbackHost(host), String(host)).toBe(false);
  });

  it('tells requests of other sites by what the browser says, letting links and non-browsers through', () => {
    const from = (site?: string, mode?: string) => isFromOtherSite({ 'sec-fetch-site': site, 'sec-fetch-mode': mode });
    expect(from('cross-site', 'cors')).toBe(true);
    expect(from('same-site', 'no-cors')).toBe(true);
    expect(from('cross-site', 'navigate')).toBe(false);
    expect(from('same-origin', 'cors')).toBe(false);
    expect(from('none', 'navigate')).toBe(false);
    expect(from()).toBe(false);
  });
});
