import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ES_DIST_DIR, LAUNCHER_USER, startInstance, stopInstance } from '@mlmon/elasticsearch';
import { createEsClient, freePort, loadEsConfig } from '@mlmon/runtime';
import { familyIndex, familyPattern, rulesHistoryIndex, rulesIndex, serviceRoles, setupSecurity, setupTemplates, type LabeledDocument } from '../src/index.js';

/**
 * A cluster of its own with security on (file realm: the roles of
 * serviceRoles and one user per role), so that each service's credentials are
 * tried for real: what they must be able to do, and what they must be refused.
 */
const INSTANCE = `security-${randomBytes(3).toString('hex')}`;
const prefix = 'mlmon';
const roles = serviceRoles(prefix);
const password = 'a-test-password-0123';
const users = Object.keys(roles).map((role) => ({ username: role.replace(`${prefix}_`, ''), password, roles: [role] }));
let url: string;
const clients: Client[] = [];
const as = (username: string) => {
  const client = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: url, MLMON_ES_USERNAME: username, MLMON_ES_PASSWORD: username === LAUNCHER_USER.username ? LAUNCHER_USER.password : password }, { maxRetries: 0 });
  clients.push(client);
  return client;
};
/** The HTTP status a call ends with: 2xx, or the refusal's status. */
const status = (call: Promise<unknown>) => call.then(() => 200, (err: { meta?: { statusCode?: number } }) => err.meta?.statusCode ?? 0);

const today = familyIndex(prefix, 'predictions', new Date());
const metrics = familyIndex(prefix, 'metrics', new Date());
const labeled = familyIndex(prefix, 'labeled', new Date());

beforeAll(async () => {
  const port = await freePort();
  await startInstance({ name: INSTANCE, port, fresh: true, security: { roles, users } });
  url = `http://127.0.0.1:${port}`;
  // The setup job's user installs the templates the others write through.
  await setupTemplates(as('setup'), { prefix });
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await stopInstance(INSTANCE);
  rmSync(path.join(path.dirname(ES_DIST_DIR), 'instances', INSTANCE), { recursive: true, force: true });
}, 90_000);

/** The analyzer's join of a feedback to prediction p-1, as it writes it: the feedback time decides the version. */
const labeledDoc = (trueLabel: string): LabeledDocument => ({
  '@timestamp': new Date().toISOString(),
  mlmon: { prediction: { id: 'p-1' }, feedback: { true_label: trueLabel, at: new Date().toISOString(), id: 'f-1' }, labeled: { status: 'orphaned' } },
});

const prediction = (id: string) => ({
  '@timestamp': new Date().toISOString(),
  event: { dataset: 'mlmon.prediction' },
  mlmon: { prediction: { id, score: 0.5 } },
});

describe('least privilege on a cluster with security on (file realm)', () => {
  it('refuses anonymous requests and a wrong password', async () => {
    expect(await status(fetch(`${url}/_cluster/health`).then((r) => (r.ok ? r : Promise.reject({ meta: { statusCode: r.status } }))))).toBe(401);
    const wrong = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: url, MLMON_ES_USERNAME: 'shipper', MLMON_ES_PASSWORD: 'wrong' }, { maxRetries: 0 });
    clients.push(wrong);
    expect(await status(wrong.count({ index: today }))).toBe(401);
  });

  it('lets the shipper create documents, and creates the daily index for it through the templates', async () => {
    const shipper = as('shipper');
    const result = await shipper.bulk({ operations: [{ create: { _index: today, _id: 'p-1' } }, prediction('p-1')] });
    expect(result.errors).toBe(false);
    const mapping = await as('setup').indices.getMapping({ index: today });
    // Mapped by the templates: an id a term query finds, not a dynamically guessed text field.
    expect(mapping[today]?.mappings).toHaveProperty(['properties', 'mlmon', 'properties', 'prediction', 'properties', 'id', 'type'], 'keyword');
    // The cluster's health for its status line.
    expect((await shipper.cluster.health()).status).toMatch(/^(green|yellow)$/);
  });

  it('refuses the shipper everything else: overwriting, reading, deleting an index, changing templates, other indices', async () => {
    const shipper = as('shipper');
    const overwrite = await shipper.bulk({ operations: [{ index: { _index: today, _id: 'p-1' } }, prediction('p-1')] });
    expect(overwrite.items[0]?.index?.status).toBe(403);
    expect(await status(shipper.search({ index: today }))).toBe(403);
    expect(await status(shipper.indices.delete({ index: today }))).toBe(403);
    expect(await status(shipper.indices.putIndexTemplate({ name: `${prefix}-predictions`, index_patterns: ['x-*'] }))).toBe(403);
    expect(await status(shipper.index({ index: 'other-index', document: { a: 1 } }))).toBe(403);
  });

  it('lets the analyzer read every family and write metrics and labeled documents, and nothing more', async () => {
    const analyzer = as('analyzer');
    await as('setup').indices.refresh({ index: today });
    expect((await analyzer.count({ index: `${prefix}-predictions-*` })).count).toBe(1);
    expect(await status(analyzer.index({ index: metrics, document: { '@timestamp': new Date().toISOString() } }))).toBe(200);
    // Its join creates the day's labeled index through the template and rewrites a document when a later feedback wins.
    const write = (version: number, trueLabel: string) =>
      status(analyzer.index({ index: labeled, id: 'p-1', version, version_type: 'external', document: labeledDoc(trueLabel), refresh: true }));
    expect(await write(2, 'benign')).toBe(200);
    expect(await write(4, 'malignant')).toBe(200);
    expect(await write(3, 'benign')).toBe(409);
    expect((await analyzer.get<LabeledDocument>({ index: labeled, id: 'p-1' }))._source?.mlmon.feedback.true_label).toBe('malignant');
    expect((await as('setup').indices.getMapping({ index: labeled }))[labeled]?.mappings.properties?.mlmon).toBeDefined();
    expect(await status(analyzer.indices.delete({ index: labeled }))).toBe(403);
    expect(await status(analyzer.index({ index: today, id: 'p-2', document: prediction('p-2') }))).toBe(403);
    expect(await status(analyzer.indices.delete({ index: metrics }))).toBe(403);
    expect(await status(analyzer.indices.putIndexTemplate({ name: `${prefix}-metrics`, index_patterns: ['x-*'] }))).toBe(403);
  });

  it('lets the rule runner read what its watches query and keep its state and history, and nothing more', async () => {
    const rules = as('rules');
    // The families watcher-rules/watches/*.json search.
    for (const family of ['predictions', 'resources', 'nginx', 'metrics'] as const) {
      expect(await status(rules.search({ index: familyPattern(prefix, family), size: 0 })), family).toBe(200);
    }
    expect((await rules.count({ index: familyPattern(prefix, 'predictions') })).count).toBe(1);
    // What the runner keeps (watcher-rules/src/state.ts): a state index it creates, one document per
    // watch written under optimistic concurrency, and daily history indices created on first write.
    const state = rulesIndex(prefix, 'state');
    const history = rulesHistoryIndex(prefix, Date.now());
    expect(await status(rules.indices.create({ index: state }))).toBe(200);
    const claimed = await rules.index({ index: state, id: 'latency-p99', op_type: 'create', document: { watch_id: 'latency-p99', lease: { scheduled_time: 1 } } });
    const update = rules.index({ index: state, id: 'latency-p99', if_seq_no: claimed._seq_no, if_primary_term: claimed._primary_term, document: { watch_id: 'latency-p99', lease: { scheduled_time: 2 } } });
    expect(await status(update)).toBe(200);
    expect(await status(rules.index({ index: history, id: 'latency-p99_1', document: { watch_id: 'latency-p99', state: 'executed' } }))).toBe(200);
    await as('setup').indices.refresh({ index: [state, history] });
    expect((await rules.search({ index: rulesIndex(prefix, 'history-*') })).hits.hits.map((h) => h._id)).toEqual(['latency-p99_1']);
    expect((await rules.get<{ lease: { scheduled_time: number } }>({ index: state, id: 'latency-p99' }))._source?.lease.scheduled_time).toBe(2);

    // Refused: the data it watches, the events family (its alerts reach it as log lines through the
    // shipper), deleting any index, its own included, and templates.
    expect(await status(rules.index({ index: today, id: 'p-3', document: prediction('p-3') }))).toBe(403);
    expect(await status(rules.index({ index: familyIndex(prefix, 'events', new Date()), document: { '@timestamp': new Date().toISOString() } }))).toBe(403);
    expect(await status(rules.indices.delete({ index: today }))).toBe(403);
    expect(await status(rules.indices.delete({ index: history }))).toBe(403);
    expect(await status(rules.indices.putIndexTemplate({ name: `${prefix}-rules-history`, index_patterns: [rulesIndex(prefix, 'history-*')] }))).toBe(403);
  });

  it('gives the read-only user (CLI, dashboards) reads and no writes', async () => {
    const reader = as('reader');
    expect((await reader.count({ index: `${prefix}-*` })).count).toBeGreaterThanOrEqual(1);
    expect((await reader.count({ index: familyPattern(prefix, 'labeled') })).count).toBe(1);
    expect(await status(reader.index({ index: metrics, document: { a: 1 } }))).toBe(403);
    expect(await status(reader.index({ index: labeled, id: 'p-1', version: 9, version_type: 'external', document: labeledDoc('benign') }))).toBe(403);
  });

  it("lets retraining read the labeled documents and their predictions' features, and nothing more", async () => {
    const retrain = as('retrain');
    const hits = await retrain.search<LabeledDocument>({ index: familyPattern(prefix, 'labeled') });
    expect(hits.hits.hits.map((h) => [h._id, h._source?.mlmon.feedback.true_label])).toEqual([['p-1', 'malignant']]);
    expect((await retrain.search({ index: familyPattern(prefix, 'predictions'), query: { ids: { values: ['p-1'] } } })).hits.hits.map((h) => h._id)).toEqual(['p-1']);
    // A concrete index: a wildcard leaves out what the user may not read instead of refusing.
    expect(await status(retrain.search({ index: metrics }))).toBe(403);
    expect(await status(retrain.index({ index: labeled, id: 'p-1', version: 9, version_type: 'external', document: labeledDoc('benign') }))).toBe(403);
    expect(await status(retrain.indices.delete({ index: labeled }))).toBe(403);
  });

  it('lets the setup job manage templates but not read documents', async () => {
    const setup = as('setup');
    expect(await status(setupTemplates(setup, { prefix }))).toBe(200);
    expect(await status(setup.search({ index: today }))).toBe(403);
  });
});

describe('setupSecurity (recorded-API fake: the native realm is not available on the local distribution)', () => {
  it('puts every role, a user for each service with a password, and the kibana_system password; nothing for a service without one', async () => {
    const calls: Array<{ method: string; path: string; body: Record<string, unknown> }> = [];
    // Answers as Elasticsearch does to these calls; the client insists on the product header.
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        calls.push({ method: req.method!, path: req.url!, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} });
        res.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
        res.end(req.url!.includes('/role/') ? '{"role":{"created":true}}' : req.url!.includes('/_password') ? '{}' : '{"created":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, { maxRetries: 0 });
    try {
      const done = await setupSecurity(fake, { prefix: 'mlmon', passwords: { shipper: 'shipper-password-1', analyzer: 'analyzer-password-1' }, kibanaSystemPassword: 'kibana-password-1' });
      expect(done.users).toEqual(['mlmon-shipper', 'mlmon-analyzer']);
      expect(calls.filter((c) => c.path.startsWith('/_security/role/')).map((c) => [c.method, c.path, c.body])).toEqual(
        Object.entries(serviceRoles('mlmon')).map(([name, role]) => ['PUT', `/_security/role/${name}`, role]),
      );
      expect(calls.filter((c) => c.path.startsWith('/_security/user/mlmon-')).map((c) => [c.path, c.body.roles, c.body.password])).toEqual([
        ['/_security/user/mlmon-shipper', ['mlmon_shipper'], 'shipper-password-1'],
        ['/_security/user/mlmon-analyzer', ['mlmon_analyzer'], 'analyzer-password-1'],
      ]);
      expect(calls.at(-1)).toMatchObject({ method: 'PUT', path: '/_security/user/kibana_system/_password', body: { password: 'kibana-password-1' } });
    } finally {
      await fake.close();
      server.close();
    }
  });
});
