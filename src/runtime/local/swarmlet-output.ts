import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/**
 * A line a task prints is cut here, as it arrives: one runaway print (even hundreds of MB with no
 * newline) never fills the director's memory or floods its log.
 */
const LINE_MAX_CHARS = 4096;

/**
 * Passes what a swarmlet prints on, line by line, under its prefix: never on the director's stdout,
 * where `--json` output goes, and always saying which swarmlet (and, from the host, which micro-task) said it.
 */
export function prefixLines(stream: Readable, prefix: () => string, output: (line: string) => void): void {
  eachLine(stream, (line) => output(`${prefix()}: ${line}`));
}

/** Each line of `stream`, cut at LINE_MAX_CHARS (a cut line says how long it was). */
export function eachLine(stream: Readable, each: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let line = '';
  let dropped = 0;
  const emit = () => {
    each(dropped > 0 ? `${line}… (${line.length + dropped} chars)` : line);
    line = '';
    dropped = 0;
  };
  const take = (text: string) => {
    const room = LINE_MAX_CHARS - line.length;
    if (text.length <= room) line += text;
    else {
      line += text.slice(0, room);
      dropped += text.length - room;
    }
  };
  stream.on('data', (chunk: Buffer) => {
    const parts = decoder.write(chunk).split('\n');
    for (let i = 0; i < parts.length - 1; i++) {
      take(parts[i]!.replace(/\r$/, ''));
      emit();
    }
    take(parts[parts.length - 1]!);
  });
  stream.on('end', () => {
    take(decoder.end());
    if (line.length > 0 || dropped > 0) emit();
  });
}
