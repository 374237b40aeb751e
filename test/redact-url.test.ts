import { expect, it } from 'vitest';
import { redactUrl } from '../src/core/redact-url.js';

it.each([
  ['redis://:s3cret@10.0.0.5:6379', 'redis://:***@10.0.0.5:6379'],
  ['redis://alice:s3cret@10.0.0.5:6379/2', 'redis://alice:***@10.0.0.5:6379/2'],
  ['rediss://alice:p%40ss%2Fw@host:6380', 'rediss://alice:***@host:6380'],
  ['redis://s3cret@host:6379', 'redis://:***@host:6379'], // a password where the user goes
  ['redis://alice:a/b@c@host:6379', 'redis://alice:***@host:6379'], // not a valid URL: hidden up to the last @
  ['redis://host:6379?password=s3cret&db=2', 'redis://host:6379?password=***&db=2'],
  ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ['redis:/alice:s3cret@host', 'redis:/alice:***@host'], // one slash short
  ['alice:s3cret@host:6379', 'alice::***@host:6379'], // no scheme: still hidden
  ['not a url', 'not a url'],
])('%s prints as %s', (url, printed) => {
  expect(redactUrl(url)).toBe(printed);
  expect(redactUrl(url)).not.toMatch(/s3cret|p%40ss|a\/b@c/);
});
