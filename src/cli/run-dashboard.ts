import { writeHttpFile } from './http-file.js';

/**
 * Says where the dashboard is (its URL carries the token in the fragment, which browsers do not send) and writes
 * .swarmlet/http.json so `swarmlet jobs`, `cancel`, `status` and `logs` find this swarm; returns what removes it.
 */
export function announceDashboard(http: { readonly url: string; readonly token: string }): () => void {
  const remove = writeHttpFile(http);
  process.stderr.write(`dashboard: ${dashboardUrl(http)}\n`);
  return remove;
}

export function dashboardUrl(http: { readonly url: string; readonly token: string }): string {
  return `${http.url}/#token=${encodeURIComponent(http.token)}`;
}

/** After the job: the dashboard and the API stay up (to look at what happened) until Ctrl-C, SIGTERM or SIGHUP. */
export function serveUntilStopped(url: string, outcome: string): Promise<NodeJS.Signals> {
  process.stderr.write(`job ${outcome}; dashboard still at ${url} — Ctrl-C to stop\n`);
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      for (const name of STOP_SIGNALS) process.off(name, stop);
      resolve(signal);
    };
    for (const name of STOP_SIGNALS) process.once(name, stop);
  });
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
