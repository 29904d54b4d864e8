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
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}
