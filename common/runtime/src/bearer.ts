import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an Authorization header carries the expected bearer token, compared
 * in constant time. Both sides are hashed first so that the comparison takes
 * the same time whatever the lengths, and a wrong length leaks nothing.
 * Every service that checks a token (replica admin, supervisor control API,
 * remediator) goes through here.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  return sameSecret(given, token);
}

/**
 * Whether an Authorization header carries HTTP basic credentials equal to
 * `user`:`password`, compared in constant time like bearerMatches. For the
 * callers that can only send basic auth (a Watcher webhook action's `auth`).
 */
export function basicMatches(header: string | undefined, user: string, password: string): boolean {
  const encoded = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '')?.[1] ?? '';
  return sameSecret(Buffer.from(encoded, 'base64').toString('utf8'), `${user}:${password}`) && user.length > 0;
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected)) && given.length > 0;
}
