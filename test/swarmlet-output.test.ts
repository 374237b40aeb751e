import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { prefixLines } from '../src/runtime/local/swarmlet-output.js';

function collect(): { stream: PassThrough; lines: string[]; ended: Promise<void> } {
  const stream = new PassThrough();
  const lines: string[] = [];
  prefixLines(
    stream,
    () => 'swarmlet s1',
    (line) => lines.push(line),
  );
  return { stream, lines, ended: new Promise((resolve) => stream.on('end', resolve)) };
}

describe('what a swarmlet prints', () => {
  it('comes out line by line under its prefix, whatever the chunks, including a last line with no newline', async () => {
    const { stream, lines, ended } = collect();
    stream.write('hel');
    stream.write('lo\r\nwor');
    stream.write('ld ');
    stream.write(Buffer.from('é\nlast').subarray(0, 1)); // a 2-byte character split across chunks
    stream.end(Buffer.from('é\nlast').subarray(1));
    await ended;
    expect(lines).toEqual(['swarmlet s1: hello', 'swarmlet s1: world é', 'swarmlet s1: last']);
  });

  it('cuts a huge line as it arrives: memory held stays bounded, and the length is said', async () => {
    const { stream, lines, ended } = collect();
    const megabyte = 'x'.repeat(2 ** 20);
    for (let i = 0; i < 50; i++) stream.write(megabyte); // 50 MB with no newline
    stream.end('\n');
    await ended;
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(5_000);
    expect(lines[0]).toMatch(/… \(52428800 chars\)$/);
  });
});
