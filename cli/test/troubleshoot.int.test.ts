import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvents } from '@mlmon/contract/testing';
import { parseEcsLine, type MlmonEvent } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { createEsClient, loadEsConfig } from '@mlmon/runtime';
import { formatTop, formatTrace } from '../src/commands/troubleshoot-commands.js';
import { describeEvent, isOf } from '../src/troubleshoot/format.js';
import { followLogs, searchLogs } from '../src/troubleshoot/logs.js';
import { sinceToDate, type LogStore } from '../src/troubleshoot/search.js';
import { topReport } from '../src/troubleshoot/top.js';
import { traceRequest } from '../src/troubleshoot/trace.js';
import { REPO_ROOT, serviceEntry } from '../src/stack/paths.js';
import { at, indexShipped, lineLogs, nginxLine } from './shipped-lines.js';

const cluster = testCluster();
const store: LogStore = { client: cluster.client, prefix: cluster.prefix };
const hex = () => randomBytes(16).toString('hex');
const uuid = () => crypto.randomUUID();
const ago = (ms: number) => new Date(Date.now() - ms);
const MIN = 60_000;

// A batch of two rows answered by replica-1 after replica-2 failed with a 502; feedback for one row.
const batch = { request: hex(), rows: [uuid(), uuid()] };
// A single slow prediction on replica-2, a rejected request, and a body nginx refused itself.
const slow = { request: hex(), prediction: uuid() };
const rejected = hex();
const tooLarge = hex();
const old = { request: hex(), prediction: uuid() };
const alerts = sampleEvents();
const features = { mean_radius: 14.1, mean_texture: 19.3 };

const nginxVars = (id: string, status: number, upstream: { addr: string; status: string; time: string }, when = new Date()) => ({
  time_iso8601: when.toISOString().replace(/\.\d+Z$/, '+00:00'),
  request_method: 'POST',
  request_uri: '/v1/predict',
  status,
  hostname: 'test-host',
  mlmon_request_id: id,
  body_bytes_sent: 180,
  request_time: '0.006',
  mlmon_duration_ns: 6_000_000,
  mlmon_status_code: status,
  mlmon_outcome: status < 400 ? 'success' : 'failure',
  mlmon_log_level: status < 400 ? 'info' : status < 500 ? 'warn' : 'error',
  mlmon_http_version: '1.1',
  mlmon_url_path: '/v1/predict',
  mlmon_source_ip: '10.1.2.0',
  http_user_agent: 'mlmon-test',
  upstream_addr: upstream.addr,
  upstream_status: upstream.status,
  upstream_response_time: upstream.time,
});

let indexed: MlmonEvent[];

beforeAll(async () => {
  const logs = lineLogs();
  const r1 = logs.replica('replica-1');
  const r2 = logs.replica('replica-2');
  const model = { name: 'breast-cancer-classifier', version: 'v2', role: 'active' as const };
  for (const id of batch.rows) {
    await r1.write('mlmon.prediction', 'info', 'prediction', {
      event: { duration: 3_000_000 },
      http: { request: { id: batch.request } },
      mlmon: { model, prediction: { id, label: 'benign', score: 0.2, features } },
    });
  }
  await r1.write('mlmon.feedback', 'info', 'feedback', { mlmon: { prediction: { id: batch.rows[0]! }, feedback: { true_label: 'malignant', delay_ms: 2500 } } });
  await r2.write('mlmon.prediction', 'info', 'prediction', {
    event: { duration: 45_000_000 },
    http: { request: { id: slow.request } },
    mlmon: { model, prediction: { id: slow.prediction, label: 'malignant', score: 0.9, features } },
  });
  await r2.write('mlmon.prediction', 'info', 'prediction', {
    event: { duration: 1_000_000 },
    http: { request: { id: old.request } },
    mlmon: { model, prediction: { id: old.prediction, label: 'malignant', score: 0.9, features } },
  });
  await r2.write('mlmon.app', 'warn', 'rejected POST /v1/predict: "foo" is not a feature', {
    http: { request: { id: rejected } },
    error: { code: 'unknown_feature', message: '"foo" is not a feature', type: 'ApiError' },
    mlmon: { app: { field: 'features.foo' } },
  });
  const shipped = logs.events();
  await logs.close();
  const nginx = [
    nginxLine(nginxVars(batch.request, 200, { addr: '127.0.0.1:9002, 127.0.0.1:9001', status: '502, 200', time: '0.001, 0.004' })),
    nginxLine(nginxVars(slow.request, 200, { addr: '127.0.0.1:9002', status: '200', time: '0.046' })),
    nginxLine(nginxVars(rejected, 400, { addr: '127.0.0.1:9002', status: '400', time: '0.001' })),
    nginxLine(nginxVars(tooLarge, 413, { addr: '', status: '', time: '' })),
  ].map((l) => parseEcsLine(l));
  const alert = alerts['mlmon.alert'];
  const remediation = { ...alerts['mlmon.remediation'], mlmon: { remediation: { ...alerts['mlmon.remediation'].mlmon.remediation, alert_id: alert.mlmon.alert.id } } };
  const distantAlert = { ...alert, mlmon: { ...alert.mlmon, alert: { ...alert.mlmon.alert, id: 'two-hours-ago' } } };
  indexed = [
    ...shipped.map((e) => (isOf(e, 'mlmon.prediction') && e.mlmon.prediction.id === old.prediction ? at(e, ago(120 * MIN)) : e)),
    ...nginx,
    at(alert, ago(5 * MIN)),
    at(remediation, ago(4 * MIN)),
    at(distantAlert, ago(180 * MIN)),
  ];
  await indexShipped(cluster.client, cluster.prefix, indexed);
});

afterAll(() => cluster.cleanup());

describe('mlmon trace, on shipped lines in the real cluster', () => {
  it('from a request id: nginx with every upstream attempt, both batch rows, the feedback, and the alert and remediation around it', async () => {
    const t = await traceRequest(store, batch.request);
    expect(t.requestIds).toEqual([batch.request]);
    expect(t.predictionIds.sort()).toEqual([...batch.rows].sort());
    expect(t.lines.map((h) => h.event.event.dataset).sort()).toEqual(['mlmon.feedback', 'mlmon.prediction', 'mlmon.prediction', 'nginx.access']);
    expect(t.around.map((h) => h.event.event.dataset)).toEqual(['mlmon.alert', 'mlmon.remediation']);
    const text = formatTrace(t).join('\n');
    expect(text).toContain('POST /v1/predict 200 in 6.00 ms from 10.1.2.0');
    expect(text).toContain('attempt 1: 127.0.0.1:9002 -> 502 in 0.001 s');
    expect(text).toContain('attempt 2: 127.0.0.1:9001 -> 200 in 0.004 s');
    expect(text).toContain(`feedback for ${batch.rows[0]}: true label malignant`);
    expect(text).toContain(`for alert ${alerts['mlmon.alert'].mlmon.alert.id}`);
    expect(text).not.toContain('two-hours-ago');
  });

  it('from a prediction id: the same request, including the other row of its batch', async () => {
    const t = await traceRequest(store, batch.rows[1]!);
    expect(t.requestIds).toEqual([batch.request]);
    expect(t.lines).toHaveLength(4);
  });

  it('a rejected request shows nginx 400 and the replica that refused it, with the field', async () => {
    const text = formatTrace(await traceRequest(store, rejected)).join('\n');
    expect(text).toContain('POST /v1/predict 400');
    expect(text).toMatch(/replica-2 +warn: rejected .*\[unknown_feature field features\.foo\]/);
  });

  it('says when nothing carries the id, naming the id', async () => {
    await expect(traceRequest(store, 'no-such-id')).rejects.toThrow(/"no-such-id"/);
  });

  it('`mlmon trace` as a command prints the nginx line and the prediction lines', async () => {
    const run = await cli(['trace', slow.request]);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain(`POST /v1/predict 200`);
    expect(run.out).toContain(`prediction ${slow.prediction}`);
    expect(run.out).toContain('45.0 ms');
  });
});

describe('mlmon logs', () => {
  const since = '15m';
  it('filters by dataset, replica and level, oldest first', async () => {
    const hits = await searchLogs(store, { dataset: 'mlmon.prediction', replica: 'replica-1', since, size: 50 });
    expect(hits.map((h) => (isOf(h.event, 'mlmon.prediction') ? h.event.mlmon.prediction.id : undefined))).toEqual(batch.rows);
    const warn = await searchLogs(store, { level: 'warn', since, size: 50 });
    // The rejection, and nginx's 400 and 413 (a 4xx is logged at warn).
    expect(warn.map((h) => h.event.event.dataset).sort()).toEqual(['mlmon.app', 'nginx.access', 'nginx.access']);
  });

  it('--since leaves older lines out', async () => {
    const recent = await searchLogs(store, { replica: 'replica-2', dataset: 'mlmon.prediction', since, size: 50 });
    expect(recent).toHaveLength(1);
    const day = await searchLogs(store, { replica: 'replica-2', dataset: 'mlmon.prediction', since: '1d', size: 50 });
    expect(day).toHaveLength(2);
  });

  it('--query takes a query string', async () => {
    const hits = await searchLogs(store, { query: 'error.code:unknown_feature OR http.response.status_code:413', since, size: 50 });
    expect(hits.map((h) => h.event.event.dataset).sort()).toEqual(['mlmon.app', 'nginx.access']);
  });

  it('refuses a bad flag with its name, and a malformed query with Elasticsearch\'s reason', async () => {
    await expect(searchLogs(store, { since: '15', size: 1 })).rejects.toThrow(/--since/);
    await expect(searchLogs(store, { dataset: 'nginx', since, size: 1 })).rejects.toThrow(/--dataset must be one of .*nginx\.access/);
    await expect(searchLogs(store, { level: 'loud', since, size: 1 })).rejects.toThrow(/--level/);
    await expect(searchLogs(store, { query: 'error.code:(', since, size: 1 })).rejects.toThrow(/refused the search.*parse/i);
  });

  it('--follow prints a line indexed after it started, once', async () => {
    const seen: string[] = [];
    const stop = new AbortController();
    // A client of its own, so that its searches can be counted: each response is one poll.
    const client = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: cluster.url }, { name: 'mlmon-test' });
    let polls = 0;
    client.diagnostic.on('response', () => (polls += 1));
    const following = followLogs({ client, prefix: cluster.prefix }, { dataset: 'mlmon.app', since, size: 10 }, (h) => seen.push(h.event.message), { intervalMs: 200, lagMs: 30_000, signal: stop.signal });
    await expect.poll(() => seen.length).toBe(1);
    // No error code: the top test counts the error codes of the fixture alone.
    const { error: _error, mlmon: _mlmon, ...app } = sampleEvents()['mlmon.app'];
    const late = { ...app, message: 'a line shipped while following' };
    await indexShipped(cluster.client, cluster.prefix, [late]);
    await expect.poll(() => seen, { timeout: 10_000 }).toContain('a line shipped while following');
    // Several more polls pass over the same window without printing anything twice.
    const printed = polls;
    await expect.poll(() => polls, { timeout: 10_000 }).toBeGreaterThanOrEqual(printed + 3);
    stop.abort();
    await following;
    await client.close();
    expect(seen).toHaveLength(2);
  });
});

describe('mlmon top', () => {
  it('ranks slowest predictions, busiest replicas, nginx errors and api error codes from the indexed lines', async () => {
    const t = await topReport(store, { since: '15m', size: 2 });
    const recent = indexed.filter((e) => Date.parse(e['@timestamp']) >= sinceToDate('15m').getTime());
    const predictions = recent.filter((e) => e.event.dataset === 'mlmon.prediction');
    expect(t.predictions).toBe(predictions.length);
    const byReplica = new Map<string, number>();
    for (const e of predictions) byReplica.set(e.service.node!.name, (byReplica.get(e.service.node!.name) ?? 0) + 1);
    expect(t.replicas.map((r) => [r.replica, r.predictions])).toEqual([...byReplica].sort((a, b) => b[1] - a[1]));
    expect(t.slowest.map((h) => h.id)).toEqual([slow.prediction, expect.any(String)]);
    expect(t.httpErrors.sort((a, b) => a.status - b.status)).toEqual([
      { status: 400, count: 1 },
      { status: 413, count: 1 },
    ]);
    expect(t.errorCodes).toEqual([{ code: 'unknown_feature', count: 1, field: 'features.foo' }]);
    const text = formatTop(t).join('\n');
    expect(text).toMatch(/replica-1 +2 predictions {2}p50 3\.00 ms/);
    expect(text).toContain(describeEvent(t.slowest[0]!.event)[0]);
  });
});

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [serviceEntry('cli'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}
