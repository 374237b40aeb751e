/** The HTTP clients of a served swarm in the api benches: what an open dashboard and a Prometheus server do. */

export interface ClientOptions {
  readonly scrapeEveryMs: number;
  /** Paths read over and over, each at its own period (the dashboard's lists). */
  readonly polls?: readonly { readonly path: string; readonly everyMs: number }[];
}

export interface ClientCounts {
  readonly events: number;
  readonly scrapes: number;
  readonly polls: number;
}

/** A live event stream read to its end, a /metrics scraper and pollers. Returns how to stop them. */
export function clients(url: string, options: ClientOptions): { stop: () => Promise<ClientCounts> } {
  const abort = new AbortController();
  let events = 0;
  let scrapes = 0;
  let polls = 0;
  const stream = (async () => {
    const response = await fetch(`${url}/api/events`, { signal: abort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      events += decoder.decode(value, { stream: true }).match(/^event: /gm)?.length ?? 0;
    }
  })().catch(() => {});
  const read = async (path: string) => {
    const response = await fetch(`${url}${path}`, { signal: abort.signal });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    await response.text();
  };
  const timers = [
    setInterval(() => void read('/metrics').then(() => (scrapes += 1), ignoreAbort), options.scrapeEveryMs),
  ];
  for (const { path, everyMs } of options.polls ?? [])
    timers.push(setInterval(() => void read(path).then(() => (polls += 1), ignoreAbort), everyMs));
  let stopped: Promise<ClientCounts> | undefined;
  return {
    stop: () =>
      (stopped ??= (async () => {
        for (const timer of timers) clearInterval(timer);
        abort.abort();
        await stream;
        return { events, scrapes, polls };
      })()),
  };
}

/** A request cut by stop() is expected; any other failure means the served numbers are not what they claim. */
function ignoreAbort(error: unknown): void {
  if ((error as Error).name !== 'AbortError') process.stderr.write(`[bench] api client: ${(error as Error).message}\n`);
}
