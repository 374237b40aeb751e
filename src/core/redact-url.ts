/**
 * The one place URLs are made safe to print: a Redis URL may carry a password (`redis://user:PASSWORD@host`, or
 * `?password=` in its query, which ioredis also reads), and every message, log line and error that shows a URL goes
 * through here. Errs on the side of hiding: text it cannot parse loses everything between the scheme and the last `@`.
 */
const MASK = '***';
const SECRET_QUERY = /pass|secret|token|key/i;

/** The URL with its password (and password-like query values) replaced by `***`; the user name stays (not a secret). */
export function redactUrl(url: string): string {
  const credentials = /^((?:[a-z][a-z0-9+.-]*:\/*)?)([^]*)@/i.exec(url); // a scheme with any slashes, or none
  let text = url;
  if (credentials) {
    const [whole, scheme, userInfo] = credentials as unknown as [string, string, string];
    const colon = userInfo.indexOf(':');
    // A lone user-info part may be a password written where the user goes: hide it too.
    const user = colon < 0 ? '' : userInfo.slice(0, colon);
    text = `${scheme}${user}:${MASK}@${url.slice(whole.length)}`;
  }
  return text.replace(/([?&])([^=&#]*)=([^&#]*)/g, (pair, separator: string, name: string) =>
    SECRET_QUERY.test(name) ? `${separator}${name}=${MASK}` : pair,
  );
}
