import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonBody, requireCredentials, type BodyRefusal } from '../src/index.js';

/**
 * The services' shared authentication and body validation, on a Hono app of
 * their shape (Hono's own request(): no socket needed). Each service's tests
 * check the same on its real routes: api control.test.ts, remediator
 * webhooks.test.ts, cli control-auth.int.test.ts.
 */
const TOKEN = 'a-test-token-0123456789';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function guarded(o: { token?: string; basic?: { username: string; password: string } }) {
  const refused: string[] = [];
  let served = 0;
  const app = new Hono()
    .use('*', requireCredentials({ ...o, realm: 'test', message: 'credentials required', onRefused: (c, message) => refused.push(`${c.req.path}: ${message}`) }))
    .get('/ok', (c) => {
      served += 1;
      return c.json({ ok: true });
    })
    .get('/teapot', () => {
      throw new HTTPException(418, { message: 'a refusal of the route, not of the credentials' });
    });
  const call = (authorization: string | undefined, path = '/ok') => app.request(path, authorization === undefined ? {} : { headers: { authorization } });
  return { call, refused, served: () => served };
}

describe('requireCredentials', () => {
  it.each([
    ['no header', undefined],
    ['bearer without a token', 'Bearer '],
    ['another token of the same length', `Bearer ${'0'.repeat(TOKEN.length)}`],
    ['the token and more', `Bearer ${TOKEN}0`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token with a character no bearer token has', `Bearer ${TOKEN}!`],
    ['the token in the basic scheme', basic('admin', TOKEN)],
    ['another scheme', `Token ${TOKEN}`],
  ])('refuses %s with 401, a challenge and the error body, and logs it once', async (_why, authorization) => {
    const g = guarded({ token: TOKEN });
    const res = await g.call(authorization);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="test"');
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'credentials required' } });
    expect(g.refused).toEqual(['/ok: credentials required']);
    expect(g.served()).toBe(0);
  });

  it('lets the token in, in either case of the scheme, and logs nothing', async () => {
    const g = guarded({ token: TOKEN });
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) expect((await g.call(authorization)).status).toBe(200);
    expect(g.served()).toBe(2);
    expect(g.refused).toEqual([]);
  });

  it('with basic credentials too: either scheme lets in, anything else is refused once', async () => {
    const g = guarded({ token: TOKEN, basic: { username: 'watcher', password: 'basic-password-0123' } });
    expect((await g.call(basic('watcher', 'basic-password-0123'))).status).toBe(200);
    expect((await g.call(`Bearer ${TOKEN}`)).status).toBe(200);
    for (const authorization of [basic('watcher', 'basic-password-0123:'), basic('', 'basic-password-0123'), basic('watcher', TOKEN), basic('', '')]) {
      const res = await g.call(authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="test", Basic realm="test"');
    }
    expect(g.refused).toHaveLength(4);
    expect(g.served()).toBe(2);
  });

  it("leaves what a route behind it throws to the app: it is not the credentials' refusal", async () => {
    const g = guarded({ token: TOKEN });
    const res = await g.call(`Bearer ${TOKEN}`, '/teapot');
    expect(res.status).toBe(418);
    expect(g.refused).toEqual([]);
  });

  it('will not take a token no client could send as a bearer token, nor nothing to require', () => {
    expect(() => requireCredentials({ token: 'has spaces in it', realm: 'test', message: 'x' })).toThrow(/bearer token may only hold/);
    expect(() => requireCredentials({ realm: 'test', message: 'x' })).toThrow(/no credentials/);
  });
});

describe('jsonBody', () => {
  const schema = z.strictObject({ name: z.string().min(1), count: z.number().int() });
  const refusals: BodyRefusal[] = [];
  const app = new Hono().post(
    '/things',
    jsonBody(schema, {
      malformed: (err) => ({ code: 'malformed_json', message: err.message }),
      invalid: (issues) => ({ code: `invalid_${String(issues[0]!.path[0] ?? 'body')}`, message: issues[0]!.message, field: issues[0]!.path.join('.') }),
      refuse: (c, r) => {
        refusals.push(r);
        return c.json({ error: { code: r.code, field: r.field } }, 400);
      },
    }),
    (c) => {
      const thing = c.req.valid('json');
      return c.json({ name: thing.name, twice: thing.count * 2 });
    },
  );
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => app.request('/things', { method: 'POST', body, headers });

  it('hands the route the parsed, typed body, whatever content type was declared', async () => {
    const declared: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}];
    for (const headers of declared) {
      const res = await post('{"name":"a","count":2}', headers);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ name: 'a', twice: 4 });
    }
  });

  it('refuses what is not JSON, with the SyntaxError underneath', async () => {
    const res = await post('{"name":');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'malformed_json' } });
    expect(refusals.at(-1)!.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ['{"name":"","count":2}', 'invalid_name', 'name'],
    ['{"name":"a","count":2.5}', 'invalid_count', 'count'],
    ['{"name":"a"}', 'invalid_count', 'count'],
    ['[1,2]', 'invalid_body', ''],
  ])('refuses %s naming the field, with the ZodError underneath, before the route runs', async (body, code, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code, field } });
    expect(refusals.at(-1)!.cause).toBeInstanceOf(z.ZodError);
  });
});
