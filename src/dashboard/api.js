// The only way the dashboard talks to the swarm: the HTTP API and its live event stream.

const TOKEN_KEY = 'swarmlet.token';

/**
 * The token from the address (`#token=…`, as the server prints it), kept for this tab and taken out of the address
 * bar so it does not end up in screenshots, bookmarks or the history.
 */
export function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromAddress = params.get('token');
  if (fromAddress) {
    sessionStorage.setItem(TOKEN_KEY, fromAddress);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error;
    super(error ? `${error.field}: ${error.message} — ${error.fix}` : `HTTP ${status}`);
    this.status = status;
  }
}

export function createApi(token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  async function call(path, init = {}) {
    const response = await fetch(path, { ...init, headers: { ...headers, ...init.headers } });
    const body = await response.json().catch(() => undefined);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
  return {
    hasToken: token !== undefined,
    get: (path) => call(path),
    post: (path) => call(path, { method: 'POST' }),
    /** Every decision after `after`, page by page (the log is bounded on the server). */
    async decisionsAfter(after) {
      const all = [];
      for (;;) {
        const page = await call(`/api/decisions?after=${after}&limit=1000`);
        all.push(...page.decisions);
        if (page.next === undefined || page.decisions.length < 1000) return all;
        after = page.next;
      }
    },
    /** The live feed; `onState` hears 'live' and 'reconnecting' (EventSource reconnects by itself). */
    events(handlers, onState) {
      const source = new EventSource(token ? `/api/events?token=${encodeURIComponent(token)}` : '/api/events');
      for (const [name, handle] of Object.entries(handlers))
        source.addEventListener(name, (event) => handle(JSON.parse(event.data)));
      source.onopen = () => onState('live');
      source.onerror = () => onState('reconnecting');
      return source;
    },
  };
}
