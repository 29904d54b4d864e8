import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { isDeepStrictEqual } from 'node:util';

export interface Exchange {
  request: { method: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; body?: unknown };
  response: { status: number; body: unknown };
}

/**
 * A recorded-API fake: for engines that cannot run here (Kubernetes, Docker),
 * a local HTTP server that replays recorded request/response pairs in order.
 * A request that is not the next recorded one gets a 599 and is kept in
 * `unexpected`, so a test sees exactly which call differed from the recording.
 */
export async function recordedApi(fixture: string): Promise<{ url: string; unexpected: string[]; remaining: () => number; close: () => Promise<void> }> {
  const exchanges = (JSON.parse(readFileSync(fixture, 'utf8')) as { exchanges: Exchange[] }).exchanges;
  let next = 0;
  const unexpected: string[] = [];
  const app = new Hono().all('*', async (c) => {
    const url = new URL(c.req.url);
    const text = await c.req.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const want = exchanges[next]?.request;
    const problems: string[] = [];
    if (!want) problems.push('no more recorded requests');
    else {
      if (want.method !== c.req.method || want.path !== url.pathname) problems.push(`expected ${want.method} ${want.path}`);
      for (const [k, v] of Object.entries(want.query ?? {})) if (url.searchParams.get(k) !== v) problems.push(`query ${k}=${url.searchParams.get(k)}, recorded ${v}`);
      for (const [k, v] of Object.entries(want.headers ?? {})) if (c.req.header(k) !== v) problems.push(`header ${k}: ${c.req.header(k)}, recorded ${v}`);
      if (want.body !== undefined && !isDeepStrictEqual(body, want.body)) problems.push(`body ${text}, recorded ${JSON.stringify(want.body)}`);
    }
    if (problems.length > 0) {
      unexpected.push(`${c.req.method} ${url.pathname}${url.search}: ${problems.join('; ')}`);
      return c.json({ message: `not in the recording: ${problems.join('; ')}` }, 599 as 500);
    }
    const { status, body: answer } = exchanges[next++]!.response;
    if (answer === undefined) return c.body(null, status as 204);
    return c.body(JSON.stringify(answer), status as 200, { 'content-type': 'application/json' });
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    unexpected,
    remaining: () => exchanges.length - next,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
