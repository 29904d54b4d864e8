/**
 * One execution, step by step, on the real cluster: the search input (body
 * or template, extract), search and chain transforms, the index, logging and
 * webhook actions, and Watcher's throttling and acknowledgement rules.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { fetchSend } from '../src/watcher/actions.js';
import { executionId } from '../src/watcher/context.js';
import { executeWatch } from '../src/watcher/execute.js';
import { emptyStatus, acknowledge, type WatchStatus } from '../src/watcher/status.js';
import { parseWatch } from '../src/load.js';
import { receiver } from './support.js';

const cluster = testCluster();
const { client, prefix } = cluster;
let hook: Awaited<ReturnType<typeof receiver>>;
const logged: string[] = [];
const T = Date.parse('2024-05-01T10:00:00Z');

beforeAll(async () => {
  hook = await receiver();
  await client.helpers.bulk({
    datasource: [1, 2, 3, 4, 5].map((n) => ({ '@timestamp': new Date(T - n * 60_000).toISOString(), n, kind: n % 2 ? 'odd' : 'even' })),
    onDocument: () => ({ index: { _index: `${prefix}-data` } }),
    refreshOnCompletion: `${prefix}-data`,
  });
});
afterAll(async () => {
  await hook.close();
  await cluster.cleanup();
});

const meta = { name: 'n', description: 'd', severity: 'warning', runbook: 'docs/runbooks/x.md', threshold: 3, threshold_why: 'w', unit: 'docs', window: '3m', kind: 'odd' };

function run(body: Record<string, unknown>, status: WatchStatus = emptyStatus(), at = T) {
  const w = parseWatch('exec-test', { trigger: { schedule: { interval: '1m' } }, metadata: meta, actions: {}, ...body }, {});
  return executeWatch({
    watchId: w.id,
    watch: w.body,
    executionId: executionId(w.id, randomUUID(), at),
    times: { scheduledTime: at, triggeredTime: at, executionTime: at },
    now: at,
    node: 'test',
    status,
    mode: 'execute',
    client,
    actions: { send: fetchSend, delivery: { retries: 0, backoffMs: 1 }, log: (level, text) => logged.push(`${level} ${text}`) },
  });
}

const search = (extra: Record<string, unknown> = {}) => ({
  search: {
    request: {
      indices: [`${prefix}-data`],
      rest_total_hits_as_int: true,
      body: {
        size: 0,
        query: { bool: { filter: [{ range: { '@timestamp': { gte: '{{ctx.trigger.scheduled_time}}||-{{ctx.metadata.window}}' } } }, { term: { kind: '{{ctx.metadata.kind}}' } }] } },
        aggs: { top: { max: { field: 'n' } } },
      },
    },
    ...extra,
  },
});

describe('input', () => {
  it('renders the search with the execution context and keeps only the extracted paths', async () => {
    const e = await run({ input: search({ extract: ['hits.total', 'aggregations.top.value'] }), condition: { compare: { 'ctx.payload.hits.total': { gte: 1 } } } });
    // Within 3 minutes before T: n = 1, 2, 3; odd: 1 and 3.
    expect(e.ctx.payload).toEqual({ hits: { total: 2 }, aggregations: { top: { value: 3 } } });
    expect(e.record.result.input?.search?.request[0]!.body).toMatchObject({ query: { bool: { filter: [{ range: { '@timestamp': { gte: '2024-05-01T10:00Z||-3m' } } }, { term: { kind: 'odd' } }] } } });
    expect(e.record.state).toBe('executed');
  });

  it('a search template with params, and a chain of inputs', async () => {
    const template = { search: { request: { indices: [`${prefix}-data`], template: { source: '{"size": 0, "query": {"range": {"n": {"gte": {{min}} }}}}', params: { min: 4 } } } } };
    const e = await run({ input: { chain: { inputs: [{ first: template }, { second: { simple: { seen: 'yes' } } }] } }, condition: { compare: { 'ctx.payload.first.hits.total.value': { eq: 2 } } } });
    expect(e.condition?.met).toBe(true);
    expect(e.ctx.payload.second).toEqual({ seen: 'yes' });
  });

  it('a failing search is a failed execution with the reason', async () => {
    const e = await run({ input: { search: { request: { indices: [`${prefix}-data`], body: { query: { no_such_query: {} } } } } }, condition: { always: {} } });
    expect(e.record.state).toBe('failed');
    expect(e.record.messages[0]).toMatch(/^failed to execute watch input: parsing_exception[\s\S]*unknown query \[no_such_query\]/);
  });
});

describe('transforms and actions', () => {
  it('a chain of search transforms replaces the payload; the index action writes it with the execution time', async () => {
    const transform = {
      chain: [
        { search: { request: { indices: [`${prefix}-data`], body: { size: 0, query: { term: { n: 5 } } } }, timeout: '10s' } },
        { search: { request: { indices: [`${prefix}-data`], rest_total_hits_as_int: true, body: { size: 0, query: { range: { n: { lte: '{{ctx.payload.hits.total.value}}' } } } } }, timeout: '10s' } },
      ],
    };
    const e = await run({
      input: { simple: {} },
      condition: { always: {} },
      transform,
      actions: { store: { index: { index: `${prefix}-out`, execution_time_field: 'executed_at', refresh: 'true' } } },
    });
    // The first search counts n = 5 (1 hit); the second reads that and counts n <= 1.
    expect(e.ctx.payload.hits).toMatchObject({ total: 1 });
    expect(e.record.result.actions[0]).toMatchObject({ id: 'store', type: 'index', status: 'success' });
    const stored = await client.search<{ executed_at: string; hits: { total: number } }>({ index: `${prefix}-out` });
    expect(stored.hits.hits[0]!._source).toMatchObject({ executed_at: '2024-05-01T10:00Z', hits: { total: 1 } });
  });

  it('webhook: method, path, params, headers and body rendered; basic auth; a plain-text body is not escaped', async () => {
    const e = await run({
      input: { simple: { who: 'say "hi"' } },
      condition: { always: {} },
      actions: {
        call: {
          webhook: {
            method: 'put',
            url: `${hook.url}/base`,
            path: '/hooks/{{ctx.watch_id}}',
            params: { at: '{{ctx.trigger.scheduled_time}}' },
            headers: { 'X-Who': '{{ctx.payload.who}}' },
            auth: { basic: { username: 'alert', password: 's3cret' } },
            body: 'from {{ctx.payload.who}}',
          },
        },
        log: { logging: { level: 'warn', text: '{{ctx.watch_id}} saw {{ctx.payload.who}}' } },
      },
    });
    const got = hook.received.at(-1)!;
    expect(got.path).toBe('/hooks/exec-test');
    expect(got.headers['x-who']).toBe('say "hi"');
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from('alert:s3cret').toString('base64')}`);
    expect(got.body).toBe('from say "hi"');
    expect(e.record.result.actions[0]!.webhook!.request.url).toBe(`${hook.url}/hooks/exec-test?at=2024-05-01T10%3A00Z`);
    expect(e.record.result.actions[0]!.webhook!.request.headers.authorization).toBe('::es_redacted::');
    expect(logged.at(-1)).toBe('warn exec-test saw say "hi"');
  });
});

describe('throttling and acknowledgement (Watcher semantics)', () => {
  const body = { input: { simple: {} }, condition: { always: {} }, actions: { a: { logging: { text: 'a' } }, b: { throttle_period: '1s', logging: { text: 'b' } } } };

  it('the default throttle period is 5 s; an action can set its own', async () => {
    const status = emptyStatus();
    await run(body, status, T);
    const again = await run(body, status, T + 2000);
    expect(again.record.result.actions.map((x) => [x.id, x.status])).toEqual([
      ['a', 'throttled'],
      ['b', 'success'],
    ]);
    const later = await run(body, status, T + 5000);
    expect(later.record.result.actions.map((x) => x.status)).toEqual(['success', 'success']);
  });

  it('ack: only after a successful run, holds while the condition holds, resets when it is false', async () => {
    const status = emptyStatus();
    expect(acknowledge(status, ['a'], 'now')).toEqual([]);
    await run(body, status, T);
    expect(status.actions.a!.ack.state).toBe('ackable');
    expect(acknowledge(status, ['a'], 'now')).toEqual(['a']);
    const acked = await run(body, status, T + 60_000);
    expect(acked.record.result.actions.find((x) => x.id === 'a')!.status).toBe('acknowledged');
    await run({ ...body, condition: { never: {} } }, status, T + 120_000);
    expect(status.actions.a!.ack.state).toBe('awaits_successful_execution');
    const rearmed = await run(body, status, T + 180_000);
    expect(rearmed.record.result.actions.find((x) => x.id === 'a')!.status).toBe('success');
  });

  it('all actions throttled makes a throttled record and no firing', async () => {
    const status = emptyStatus();
    await run(body, status, T);
    const e = await run({ ...body, actions: { a: body.actions.a } }, status, T + 1000);
    expect(e.record.state).toBe('throttled');
    expect(e.fired).toBe(false);
  });
});
