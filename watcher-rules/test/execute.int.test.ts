/**
 * One execution, step by step, on the real cluster: the search input (body
 * or template, extract), search and chain transforms, the index, logging and
 * webhook actions, and Watcher's throttling and acknowledgement rules.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { waitUntil } from '@mlmon/runtime';
import { fetchSend } from '../src/watcher/actions.js';
import { executionId } from '../src/watcher/context.js';
import { executeWatch } from '../src/watcher/execute.js';
import { emptyStatus, acknowledge, type WatchStatus } from '../src/watcher/status.js';
import { parseWatch } from '../src/load.js';
import { receiver } from './support.js';
import { isShardStarting, retryWhileShardStarts } from '../src/shard-retry.js';

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

  it('a search template with params, and a chain of inputs; hits.total is a number unless the request says otherwise', async () => {
    const template = { search: { request: { indices: [`${prefix}-data`], template: { source: '{"size": 0, "query": {"range": {"n": {"gte": {{min}} }}}}', params: { min: 4 } } } } };
    // rest_total_hits_as_int defaults to true in Watcher's search input (WatcherSearchTemplateRequest; Elastic's
    // put_watch/91_search_total_hits_as_int.yml compares ctx.payload.hits.total gt 0 without setting it and expects met).
    const e = await run({ input: { chain: { inputs: [{ first: template }, { second: { simple: { seen: 'yes' } } }] } }, condition: { compare: { 'ctx.payload.first.hits.total': { eq: 2 } } } });
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
        { search: { request: { indices: [`${prefix}-data`], rest_total_hits_as_int: false, body: { size: 0, query: { range: { n: { lte: '{{ctx.payload.hits.total}}' } } } } }, timeout: '10s' } },
      ],
    };
    const e = await run({
      input: { simple: {} },
      condition: { always: {} },
      transform,
      actions: { store: { index: { index: `${prefix}-out`, execution_time_field: 'executed_at', refresh: 'true' } } },
    });
    // The first search counts n = 5 (1 hit); the second reads that and counts n <= 1.
    expect(e.ctx.payload.hits).toMatchObject({ total: { value: 1, relation: 'eq' } });
    expect(e.record.result.actions[0]).toMatchObject({ id: 'store', type: 'index', status: 'success' });
    const stored = await client.search<{ executed_at: string; hits: { total: unknown } }>({ index: `${prefix}-out` });
    // A date Watcher writes into a document prints milliseconds (strict_date_optional_time), unlike the same date in a template.
    expect(stored.hits.hits[0]!._source).toMatchObject({ executed_at: '2024-05-01T10:00:00.000Z', hits: { total: { value: 1 } } });
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

  it('the default throttle period is 5 s, inclusive (PeriodThrottler: elapsed <= period); an action can set its own', async () => {
    const status = emptyStatus();
    await run(body, status, T);
    const again = await run(body, status, T + 2000);
    expect(again.record.result.actions.map((x) => [x.id, x.status])).toEqual([
      ['a', 'throttled'],
      ['b', 'success'],
    ]);
    // xpack.watcher.execution.default_throttle_period is 5s; PeriodThrottler throttles while `elapsed <= period`.
    const atPeriod = await run(body, status, T + 5000);
    expect(atPeriod.record.result.actions.find((x) => x.id === 'a')).toMatchObject({ status: 'throttled', reason: 'throttling interval is set to [5000 ms] but time elapsed since last execution is [5000 ms]' });
    const past = await run(body, status, T + 5001);
    expect(past.record.result.actions.find((x) => x.id === 'a')!.status).toBe('success');
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

describe('Watcher 8.x semantics the runner used to miss (issue 22)', () => {
  const log = (text: string, extra: Record<string, unknown> = {}) => ({ ...extra, logging: { text } });
  // The watch of Elastic's ack_watch/40_reset_ack_after_unmet_action_condition.yml: an action whose condition reads the input.
  const matching = (match: string) => ({
    input: { simple: { match } },
    condition: { always: {} },
    actions: { indexme: { throttle_period: '0', condition: { compare: { 'ctx.payload.match': { eq: 'true' } } }, logging: { text: 'x' } } },
  });

  it('record state: any acknowledged action wins, else any throttled one (WatchRecord.getState; execute_watch/30_throttled.yml)', async () => {
    const status = emptyStatus();
    const body = (actions: Record<string, unknown>) => ({ input: { simple: {} }, condition: { always: {} }, actions });
    const three = { a: log('a', { throttle_period: '1s' }), b: log('b', { throttle_period: '1s' }), c: log('c') };
    const first = await run(body(three), status, T);
    expect(first.record.state).toBe('executed');
    // The record's dates print milliseconds, as 30_throttled.yml reads triggered_time "2012-12-12T12:12:12.120Z".
    expect(first.record.trigger_event.triggered_time).toBe('2024-05-01T10:00:00.000Z');
    acknowledge(status, ['b'], '2024-05-01T10:00:01.000Z');
    // At T+2s: a runs, b is past its period but acked, c is inside the default 5 s.
    const mixed = await run(body(three), status, T + 2000);
    expect(mixed.record.result.actions.map((x) => [x.id, x.status])).toEqual([
      ['a', 'success'],
      ['b', 'acknowledged'],
      ['c', 'throttled'],
    ]);
    expect(mixed.record.state).toBe('acknowledged');
    // An acknowledged action is not a throttle: last_throttle stays unset (ActionStatus.update).
    expect(status.actions.b!.last_throttle).toBeUndefined();
    const some = await run(body({ a: three.a, c: three.c }), status, T + 4000);
    expect(some.record.result.actions.map((x) => x.status)).toEqual(['success', 'throttled']);
    expect(some.record.state).toBe('throttled');
  });

  it('the period is checked before the ack: an acked action inside its period is throttled (ActionThrottler)', async () => {
    const status = emptyStatus();
    const body = { input: { simple: {} }, condition: { always: {} }, actions: { a: log('a') } };
    await run(body, status, T);
    acknowledge(status, ['a'], '2024-05-01T10:00:01.000Z');
    expect((await run(body, status, T + 1000)).record.result.actions[0]!.status).toBe('throttled');
    expect((await run(body, status, T + 6000)).record.result.actions[0]).toMatchObject({ status: 'acknowledged', reason: 'action [a] was acked at [2024-05-01T10:00:01.000Z]' });
  });

  it('a false action condition re-arms an ackable action (ack_watch/40_reset_ack_after_unmet_action_condition.yml)', async () => {
    const status = emptyStatus();
    await run(matching('true'), status, T);
    expect(status.actions.indexme!.ack.state).toBe('ackable');
    const unmet = await run(matching('false'), status, T + 60_000);
    expect(unmet.record.result.actions[0]).toMatchObject({ status: 'condition_failed', reason: 'condition not met. skipping' });
    expect(status.actions.indexme!.ack).toEqual({ state: 'awaits_successful_execution', timestamp: '2024-05-01T10:01:00.000Z' });
    await run(matching('true'), status, T + 120_000);
    expect(status.actions.indexme!.ack.state).toBe('ackable');
  });

  it('an acked action stays acked on schedule while its own condition is false: the ack throttler stops it first', async () => {
    // 40_reset_ack_after_unmet_action_condition.yml reaches the action condition only with action_modes force_execute.
    const status = emptyStatus();
    await run(matching('true'), status, T);
    acknowledge(status, [], '2024-05-01T10:00:30.000Z');
    expect((await run(matching('false'), status, T + 60_000)).record.result.actions[0]!.status).toBe('acknowledged');
    expect(status.actions.indexme!.ack.state).toBe('acked');
  });

  it('an action condition that throws is condition_failed with its message and changes no status (ActionWrapper.execute)', async () => {
    const status = emptyStatus();
    const e = await run(
      {
        input: { simple: { value: 5 } },
        condition: { always: {} },
        actions: {
          broken: { condition: { array_compare: { 'ctx.payload.value': { path: '', gt: { value: 1, quantifier: 'some' } } } }, logging: { text: 'never' } },
          fine: log('fine'),
        },
      },
      status,
    );
    expect(e.record.result.actions[0]).toMatchObject({ id: 'broken', status: 'condition_failed', reason: 'condition failed. skipping: array path ctx.payload.value did not evaluate to array, was 5' });
    expect(e.record.result.actions[1]).toMatchObject({ id: 'fine', status: 'success' });
    expect(e.record.state).toBe('executed');
    expect(status.actions.broken!.last_execution).toBeUndefined();
  });

  it('a false watch condition re-arms acks once: the timestamp is not re-stamped while the action waits (WatchStatus.onCheck)', async () => {
    const status = emptyStatus();
    const body = { input: { simple: {} }, condition: { always: {} }, actions: { a: log('a') } };
    await run(body, status, T);
    acknowledge(status, ['a'], '2024-05-01T10:00:30.000Z');
    await run({ ...body, condition: { never: {} } }, status, T + 60_000);
    expect(status.actions.a!.ack).toEqual({ state: 'awaits_successful_execution', timestamp: '2024-05-01T10:01:00.000Z' });
    await run({ ...body, condition: { never: {} } }, status, T + 120_000);
    expect(status.actions.a!.ack).toEqual({ state: 'awaits_successful_execution', timestamp: '2024-05-01T10:01:00.000Z' });
  });

  it('the watch transform runs only when the watch has actions (ExecutionService.executeInner)', async () => {
    const transform = { search: { request: { indices: [`${prefix}-data`], body: { query: { no_such_query: {} } } }, timeout: '10s' } };
    const none = await run({ input: { simple: {} }, condition: { always: {} }, transform, actions: {} });
    expect(none.record.result.transform).toBeUndefined();
    expect(none.record.state).toBe('executed');
  });
});

describe('an index being created (issue 22: no_shard_available_action_exception is not a failed tick)', () => {
  // A primary that cannot be allocated yet is what a new day's index looks like for its first moments.
  const unassigned = async (index: string) =>
    client.indices.create({ index, settings: { number_of_replicas: 0, 'index.routing.allocation.require._name': 'not-yet' }, wait_for_active_shards: 0 });
  const allocate = (index: string) => client.indices.putSettings({ index, settings: { 'index.routing.allocation.require._name': null } });

  it('Elasticsearch answers a read with no_shard_available_action_exception, which is recognised; other errors are not', async () => {
    const index = `${prefix}-starting-probe`;
    await unassigned(index);
    const err = await client.get({ index, id: 'x' }).catch((e: unknown) => e);
    expect(isShardStarting(err)).toBe(true);
    const search = await client.search({ index }).catch((e: unknown) => e);
    expect(isShardStarting(search)).toBe(true);
    const other = await client.search({ index: `${prefix}-data`, query: { no_such_query: {} } as never }).catch((e: unknown) => e);
    expect(isShardStarting(other)).toBe(false);
    let calls = 0;
    await expect(retryWhileShardStarts(async () => ((calls += 1), Promise.reject(other)), { backoffMs: [1, 1] })).rejects.toBe(other);
    expect(calls).toBe(1);
    await client.indices.delete({ index });
  });

  it('the watch input waits for the shard and the execution succeeds within the tick', async () => {
    const index = `${prefix}-starting-day`;
    await unassigned(index);
    const started = (async () => {
      // Allocate once the first attempt has failed.
      await waitUntil(async () => isShardStarting(await client.search({ index }).then(() => undefined, (e: unknown) => e)), { timeoutMs: 10_000, what: 'the shard refusing reads' });
      await allocate(index);
    })();
    const e = await run({ input: { search: { request: { indices: [`${prefix}-starting-*`], body: { size: 0 } } } }, condition: { compare: { 'ctx.payload.hits.total': { gte: 0 } } } });
    await started;
    expect(e.record.result.input).toMatchObject({ status: 'success' });
    expect(e.record.state).toBe('executed');
    expect(e.ctx.payload.hits).toMatchObject({ total: 0 });
  });
});
