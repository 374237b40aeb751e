import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** A line a task prints is cut here: one runaway print cannot flood the director's memory or log. */
const LINE_MAX_CHARS = 4096;

/**
 * Passes what a swarmlet prints on, line by line, under its prefix: never on the director's stdout,
 * where `--json` output goes, and always saying which swarmlet (and, from the host, which micro-task) said it.
 */
export function prefixLines(stream: Readable, prefix: () => string, output: (line: string) => void): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const cut = line.length > LINE_MAX_CHARS ? `${line.slice(0, LINE_MAX_CHARS)}… (${line.length} chars)` : line;
    output(`${prefix()}: ${cut}`);
  });
}
