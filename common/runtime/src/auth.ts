import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bearerAuth } from 'hono/bearer-auth';
import { some } from 'hono/combine';
import { HTTPException } from 'hono/http-exception';

/** What RFC 6750 lets a bearer token hold (its b64token), and all bearerAuth accepts in a header. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

export interface CredentialOptions {
  /** The bearer token accepted. */
  token?: string;
  /** HTTP basic credentials accepted too, for callers that can only send those (a Watcher webhook's `auth.basic`). */
  basic?: { username: string; password: string };
  /** The realm in the `WWW-Authenticate` challenge. */
  realm: string;
  /** What a refusal says. */
  message: string;
  /** The service's log line for a refusal, written before it is answered. */
  onRefused?: (c: Context, message: string) => void;
}

/**
 * The one authentication of mlmon's HTTP services (a replica's admin API, the
 * supervisor's control API, the remediator's webhooks): Hono's bearerAuth and
 * basicAuth, which compare secrets in constant time, either one enough
 * (`some`). Every refusal is answered alike, whatever was wrong (no header, a
 * malformed one, another scheme, a wrong secret), which Hono's answers are
 * not (400 for a malformed header, plain text): 401, a challenge per scheme
 * accepted, and mlmon's error body `{"error":{"code":"unauthorized","message":…}}`.
 */
export function requireCredentials(o: CredentialOptions): MiddlewareHandler {
  if (o.token !== undefined && !BEARER_TOKEN.test(o.token)) {
    throw new Error('a bearer token may only hold letters, digits and - . _ ~ + / (and = at its end): no client could send this one');
  }
  const schemes = [
    ...(o.token !== undefined ? [{ check: bearerAuth({ token: o.token, realm: o.realm }), challenge: `Bearer realm="${o.realm}"` }] : []),
    ...(o.basic ? [{ check: basicAuth({ ...o.basic, realm: o.realm }), challenge: `Basic realm="${o.realm}"` }] : []),
  ];
  if (schemes.length === 0) throw new Error('requireCredentials: no credentials to require (a token or basic credentials)');
  const anyScheme = some(...schemes.map((s) => s.check));
  return async (c, next) => {
    let admitted = false;
    try {
      await anyScheme(c, () => {
        admitted = true;
        return next();
      });
    } catch (err) {
      // What the routes behind it threw is theirs to answer; only the checks' own refusal is answered here.
      if (admitted || !(err instanceof HTTPException)) throw err;
      o.onRefused?.(c, o.message);
      for (const s of schemes) c.header('WWW-Authenticate', s.challenge, { append: true });
      return c.json({ error: { code: 'unauthorized', message: o.message } }, 401);
    }
  };
}
