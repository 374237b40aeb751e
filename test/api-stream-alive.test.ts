import { afterEach, expect, it } from 'vitest';
import { Swarm } from '../src/swarm.js';

let swarm: Swarm | undefined;
afterEach(async () => {
  await swarm?.stop();
  swarm = undefined;
});

// A live stream stays subscribed for as long as its client holds it: Node may close a request without a body as soon
// as it is read, and a stream that unsubscribed then stayed open and mute (found as a flaky stream-limit test).
it('a live stream keeps sending after its request was read: a status every second, three in a row', async () => {
  swarm = await Swarm.start({ tasks: ['test/fixtures/noop.task.ts'], maxSwarmlets: 1, http: { port: 0 } });
  const abort = new AbortController();
  try {
    const response = await fetch(`${swarm.http!.url}/api/events`, { signal: abort.signal });
    const reader = response.body!.getReader();
    let text = '';
    while ((text.match(/event: status/g)?.length ?? 0) < 3)
      text += new TextDecoder().decode((await reader.read()).value);
    expect(text.match(/event: status/g)!.length).toBeGreaterThanOrEqual(3);
  } finally {
    abort.abort();
  }
}, 15_000);
