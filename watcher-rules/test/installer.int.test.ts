/**
 * The installer. Against the real cluster (no Watcher: the integration-test
 * distribution has a basic license and no Watcher plugin) it must say so and
 * install nothing. The Watcher path is tested against a fake that answers
 * with the documented responses of the Watcher API, because Watcher is not
 * running here.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { createEsClient } from '@mlmon/runtime';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { deploymentOf } from '../src/config.js';
import { rulesInstall, rulesList } from '../src/commands.js';
import { checkWatcher, installWatches, watcherId } from '../src/installer.js';
import { WATCHES_DIR } from '../src/load.js';
import { loadWatches } from '../src/load.js';
import { runnerConfig } from './support.js';

const cluster = testCluster();
afterAll(cluster.cleanup);

describe('on the local cluster, which has no Watcher', () => {
  it('rules install says Watcher is absent and that the runner runs the rules', async () => {
    const config = runnerConfig({ esUrl: cluster.url, prefix: cluster.prefix });
    expect(await checkWatcher(cluster.client)).toMatchObject({ available: false, license: 'basic' });
    const lines = await rulesInstall(config);
    expect(lines[0]).toMatch(/^Watcher is not installed on this cluster: nothing installed\.$/);
    // One rule per watch file.
    expect(lines[1]).toContain(`The rule runner executes the ${readdirSync(WATCHES_DIR).filter((f) => f.endsWith('.json')).length} rules`);
    const { rows } = await rulesList(config);
    expect(rows.every((r) => r.runs_on === 'runner' && r.state === 'never executed')).toBe(true);
  });
});

/** The parts of the Watcher API the installer uses, answering as the Watcher documentation shows. */
interface Stored {
  watch: Record<string, unknown>;
  version: number;
}
function fakeWatcher() {
  const watches = new Map<string, Stored>();
  const calls: string[] = [];
  const json = (c: { json: (b: unknown, s?: number, h?: Record<string, string>) => Response }, body: unknown, status = 200) =>
    // The client refuses answers without the product header, as from any non-Elasticsearch server.
    c.json(body, status, { 'x-elastic-product': 'Elasticsearch' });
  const statusOf = (s: Stored) => ({ state: { active: true, timestamp: '2024-01-01T00:00:00.000Z' }, actions: {}, version: s.version });
  const getPath = (o: unknown, path: string) => path.split('.').reduce<unknown>((a, k) => (a as Record<string, unknown> | undefined)?.[k], o);
  const app = new Hono()
    .use(async (c, next) => {
      calls.push(`${c.req.method} ${c.req.path}`);
      await next();
    })
    .get('/_xpack', (c) =>
      json(c, {
        build: { hash: 'fake', date: '2023-06-05T21:32:25.188464208Z' },
        license: { uid: 'fake', type: 'trial', mode: 'trial', status: 'active', expiry_date_in_millis: 4102444800000 },
        features: { watcher: { available: true, enabled: true } },
        tagline: 'You know, for X',
      }),
    )
    .get('/_watcher/watch/:id', (c) => {
      const id = c.req.param('id');
      const s = watches.get(id);
      if (!s) return json(c, { found: false, _id: id }, 404);
      return json(c, { found: true, _id: id, _version: s.version, _seq_no: s.version - 1, _primary_term: 1, watch: s.watch, status: statusOf(s) });
    })
    .put('/_watcher/watch/:id', async (c) => {
      const id = c.req.param('id');
      const body = (await c.req.json()) as Record<string, unknown>;
      const prev = watches.get(id);
      const s = { watch: body, version: (prev?.version ?? 0) + 1 };
      watches.set(id, s);
      return json(c, { _id: id, _version: s.version, _seq_no: s.version - 1, _primary_term: 1, created: !prev }, prev ? 200 : 201);
    })
    .delete('/_watcher/watch/:id', (c) => {
      const id = c.req.param('id');
      const found = watches.delete(id);
      return json(c, { _id: id, _version: 2, found }, found ? 200 : 404);
    })
    .post('/_watcher/_query/watches', async (c) => {
      const body = (await c.req.json()) as { query?: { bool?: { filter?: Array<{ term: Record<string, unknown> }> } } };
      const filters = body.query?.bool?.filter ?? [];
      const hits = [...watches.entries()].filter(([, s]) => filters.every((f) => Object.entries(f.term).every(([path, v]) => getPath(s.watch, path) === v)));
      return json(c, { count: hits.length, watches: hits.map(([id, s]) => ({ _id: id, watch: s.watch, status: statusOf(s), _seq_no: s.version - 1, _primary_term: 1 })) });
    });
  let server: ServerType | undefined;
  return {
    watches,
    calls,
    start: () => new Promise<string>((resolve) => (server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (i) => resolve(`http://127.0.0.1:${i.port}`)))),
    stop: () => new Promise<void>((resolve) => server!.close(() => resolve())),
  };
}

describe('into Watcher (Watcher is not running here: a fake of its documented API)', () => {
  const fake = fakeWatcher();
  let client: ReturnType<typeof createEsClient>;
  const prefix = 'mlmon';
  const config = () => runnerConfig({ esUrl: 'http://127.0.0.1:1', prefix });
  beforeAll(async () => {
    client = createEsClient({ MLMON_ES_URL: await fake.start(), MLMON_ES_PORT: 9200 }, { maxRetries: 0 });
  });
  afterAll(async () => {
    await client.close();
    await fake.stop();
  });

  it('puts every watch once, with the deployment filled in, and a second install changes nothing', async () => {
    const watches = loadWatches({ deployment: deploymentOf(config()) });
    expect(await checkWatcher(client)).toMatchObject({ available: true, license: 'trial' });
    const first = await installWatches(client, watches, prefix);
    expect(first.created).toHaveLength(watches.length);
    expect(fake.watches.size).toBe(watches.length);
    for (const w of watches) {
      const stored = fake.watches.get(watcherId(prefix, w.id))!.watch;
      const text = JSON.stringify(stored);
      expect(text).not.toContain('${');
      expect(text).not.toContain('"script"');
      expect(stored.metadata).toMatchObject({ ...w.body.metadata, mlmon_managed: true, mlmon_prefix: prefix, mlmon_rule: w.id });
      expect(stored.condition).toEqual(w.body.condition);
    }
    const puts = fake.calls.filter((c) => c.startsWith('PUT')).length;
    const second = await installWatches(client, watches, prefix);
    expect(second).toMatchObject({ created: [], updated: [], deleted: [] });
    expect(second.unchanged).toHaveLength(watches.length);
    expect(fake.calls.filter((c) => c.startsWith('PUT')).length).toBe(puts);
  });

  it('updates a changed watch and deletes its own watches that are no longer defined, not others', async () => {
    const watches = loadWatches({ deployment: deploymentOf(config()) });
    fake.watches.set('mlmon-retired-rule', { watch: { metadata: { mlmon_managed: true, mlmon_prefix: prefix } }, version: 1 });
    fake.watches.set('other-prefix-rule', { watch: { metadata: { mlmon_managed: true, mlmon_prefix: 'other' } }, version: 1 });
    fake.watches.set('someone-elses-watch', { watch: { metadata: { owner: 'ops' } }, version: 1 });
    const tuned = watches.map((w) => (w.id === 'latency-p99' ? { ...w, body: { ...w.body, metadata: { ...w.body.metadata, threshold: 500e6 } } } : w));
    const r = await installWatches(client, tuned, prefix);
    expect(r.updated).toEqual(['mlmon-latency-p99']);
    expect(r.deleted).toEqual(['mlmon-retired-rule']);
    expect(fake.watches.has('other-prefix-rule')).toBe(true);
    expect(fake.watches.has('someone-elses-watch')).toBe(true);
  });
});
