import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSavedObjects, savedObjects, toNdjson, type SavedObject } from '../src/index.js';

/**
 * A fake Kibana that answers POST /api/saved_objects/_import as Kibana 8.8
 * does (responses recorded from its API documentation's examples): Kibana
 * itself cannot run here. It keeps what was imported, refuses a request
 * without kbn-xsrf or credentials, an existing object without overwrite, and
 * an object whose references resolve to nothing.
 */
const stored = new Map<string, SavedObject>();
const calls: Array<{ overwrite: string | undefined; space: string | undefined }> = [];
const app = new Hono();
const handleImport = async (c: Context) => {
  if (!c.req.header('kbn-xsrf')) return c.json({ statusCode: 400, error: 'Bad Request', message: 'Request must contain a kbn-xsrf header.' }, 400);
  if (c.req.header('authorization') !== `Basic ${Buffer.from('elastic:changeme').toString('base64')}`) {
    return c.json({ statusCode: 401, error: 'Unauthorized', message: '[security_exception]: missing authentication credentials for REST request' }, 401);
  }
  const overwrite = c.req.query('overwrite');
  calls.push({ overwrite, space: c.req.param('space') as string | undefined });
  const file = (await c.req.parseBody()).file;
  if (!(file instanceof File)) return c.json({ statusCode: 400, error: 'Bad Request', message: '[request body.file]: expected value of type [Stream]' }, 400);
  const objects = (await file.text()).trim().split('\n').map((l) => JSON.parse(l) as SavedObject);
  const key = (type: string, id: string) => `${type}:${id}`;
  const batch = new Set(objects.map((o) => key(o.type, o.id)));
  const errors: unknown[] = [];
  const successResults: unknown[] = [];
  for (const o of objects) {
    const missing = o.references.filter((r) => !batch.has(key(r.type, r.id)) && !stored.has(key(r.type, r.id)));
    if (missing.length) errors.push({ id: o.id, type: o.type, title: o.attributes.title, meta: {}, error: { type: 'missing_references', references: missing.map(({ type, id }) => ({ type, id })) } });
    else if (stored.has(key(o.type, o.id)) && overwrite !== 'true') errors.push({ id: o.id, type: o.type, title: o.attributes.title, meta: {}, error: { type: 'conflict' } });
    else {
      stored.set(key(o.type, o.id), o);
      successResults.push({ type: o.type, id: o.id, meta: { title: o.attributes.title, icon: 'dashboardApp' }, ...(overwrite === 'true' ? { overwrite: true } : {}) });
    }
  }
  return c.json({ successCount: successResults.length, success: errors.length === 0, successResults, ...(errors.length ? { errors } : {}) });
};
app.post('/api/saved_objects/_import', handleImport);
app.post('/s/:space/api/saved_objects/_import', handleImport);

let server: ServerType;
let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      url = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const target = () => ({ url, username: 'elastic', password: 'changeme' });

describe('kibana import against a fake Kibana (recorded API; Kibana is not running)', () => {
  it('imports every object with overwrite, and a second import changes nothing', async () => {
    const objects = savedObjects('mlmon');
    const first = await importSavedObjects(target(), toNdjson(objects));
    expect(first.successCount).toBe(objects.length);
    const snapshot = JSON.stringify([...stored]);
    const second = await importSavedObjects(target(), toNdjson(objects));
    expect(second.successCount).toBe(objects.length);
    expect(JSON.stringify([...stored])).toBe(snapshot);
    expect(calls.every((c) => c.overwrite === 'true')).toBe(true);
  });

  it('imports into a space when asked', async () => {
    await importSavedObjects({ ...target(), space: 'ops' }, toNdjson(savedObjects('mlmon')));
    expect(calls.at(-1)?.space).toBe('ops');
  });

  it("names the object and Kibana's reason when Kibana refuses one", async () => {
    const dashboards = savedObjects('other').filter((o) => o.type === 'dashboard').map((o) => ({ ...o, references: [{ id: 'no-such-view', name: 'x', type: 'index-pattern' }] }));
    await expect(importSavedObjects(target(), toNdjson(dashboards))).rejects.toThrow(/dashboard mlmon-service-health: missing_references/);
  });

  it('says when Kibana refuses the credentials', async () => {
    await expect(importSavedObjects({ url, username: 'elastic', password: 'wrong' }, toNdjson(savedObjects('mlmon')))).rejects.toThrow(/HTTP 401/);
  });
});
