/**
 * Inside a swarmlet: each line a micro-task prints on stdout or stderr starts with its label, so
 * the director's log (which adds the swarmlet's id) says who printed it. Lines printed outside a
 * micro-task (at import, in warmup) carry no label.
 */
export function labelOutput(): { running(label: string | undefined): void } {
  let label: string | undefined;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
    let atLineStart = true;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (label === undefined) {
        atLineStart = endsWithNewline(chunk);
        return write(chunk, ...rest);
      }
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const prefix = `[${label}] `;
      const body = text.replace(/\n(?=.)/g, `\n${prefix}`);
      const labelled = (atLineStart ? prefix : '') + body;
      atLineStart = text.endsWith('\n');
      return write(labelled, ...rest);
    }) as typeof stream.write;
  }
  return {
    running(next) {
      label = next;
    },
  };
}

function endsWithNewline(chunk: string | Uint8Array): boolean {
  return typeof chunk === 'string' ? chunk.endsWith('\n') : chunk[chunk.length - 1] === 10;
}
