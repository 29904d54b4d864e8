/**
 * The runner's own guarantees on the real cluster: one execution per tick
 * with two runners, throttle and ack state that survive a restart,
 * Elasticsearch outages (through a relay this test takes down and brings back),
 * and webhook receivers that are slow or down.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esRelay, testCluster } from '@mlmon/elasticsearch/testing';
import { throwawayTls } from '@mlmon/runtime/testing';
import { ackWatch } from '../src/ack.js';
import { parseWatch, type LoadedWatch } from '../src/load.js';
import { startRunner, type Runner } from '../src/runner.js';
import { StateStore, historyPattern } from '../src/state.js';
import type { Execution } from '../src/watcher/execute.js';
import { receiver, runnerConfig } from './support.js';

const cluster = testCluster();
const { client, prefix, url } = cluster;
let hook: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => {
  hook = await receiver(async (path) => {
    // A receiver that takes 4 s to answer is the behaviour under test, not a wait.
    if (path === '/slow') await new Promise((r) => setTimeout(r, 4000));
    return 200;
  });
});
afterAll(async () => {
  await hook.close();
  await cluster.cleanup();
});

const meta = { name: 'test rule', description: 'd', severity: 'warning', runbook: 'docs/runbooks/test.md', threshold: 0, threshold_why: 'w', unit: 'docs', window: '1m' };

/** A watch that fires while the flag index holds a document, and calls the receiver at `path`. */
function flagWatch(id: string, path: string, o: { throttle?: string; readTimeout?: string } = {}): LoadedWatch {
  return parseWatch(
    id,
    {
      trigger: { schedule: { interval: '1s' } },
      input: { search: { request: { indices: [`${prefix}-flag-${id}`], rest_total_hits_as_int: true, body: { size: 0, query: { match_all: {} } } } } },
      condition: { compare: { 'ctx.payload.hits.total': { gt: 0 } } },
      actions: {
        hook: {
          ...(o.throttle ? { throttle_period: o.throttle } : {}),
          webhook: { method: 'post', url: `${hook.url}${path}`, body: '{{ctx.watch_id}} {{ctx.id}}', ...(o.readTimeout ? { read_timeout: o.readTimeout, connection_timeout: '1s' } : {}) },
        },
      },
      metadata: meta,
    },
    {},
  );
}

const setFlag = async (id: string, on: boolean) => {
  if (on) await client.index({ index: `${prefix}-flag-${id}`, id: 'on', document: { on: true }, refresh: true });
  else await client.delete({ index: `${prefix}-flag-${id}`, id: 'on', refresh: true });
};

const logWatch = (id: string): LoadedWatch =>
  parseWatch(id, { trigger: { schedule: { interval: '1s' } }, input: { simple: { x: 1 } }, condition: { always: {} }, actions: { log: { logging: { text: 'tick {{ctx.trigger.scheduled_time}}' } } }, metadata: meta }, {});

async function history(watchId: string): Promise<Array<{ scheduled: string; node: string; state: string }>> {
  await client.indices.refresh({ index: historyPattern(prefix), ignore_unavailable: true, allow_no_indices: true });
  const res = await client.search<{ trigger_event: { schedule: { scheduled_time: string } }; node: string; state: string }>({
    index: historyPattern(prefix),
    size: 1000,
    query: { term: { watch_id: watchId } },
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  return res.hits.hits.map((h) => ({ scheduled: h._source!.trigger_event.schedule.scheduled_time, node: h._source!.node, state: h._source!.state }));
}

const calls = (path: string) => hook.received.filter((r) => r.path === path);

// The runners below use watches, flag indices and receiver paths of their own, so these four run side
// by side (each mostly waits for one-second ticks); the TLS tests after them run alone, as their
// throwaway CA is made by blocking openssl calls that would stall the other runners' ticks.

describe.concurrent('two runners on one cluster', () => {
  it('execute each tick of a watch once between them', async ({ expect }) => {
    const w = logWatch('lease');
    const a = await startRunner({ ...runnerConfig({ esUrl: url, prefix }), MLMON_RULES_NODE: 'runner-a' }, { watches: [w] });
    const b = await startRunner({ ...runnerConfig({ esUrl: url, prefix }), MLMON_RULES_NODE: 'runner-b' }, { watches: [w] });
    try {
      await expect.poll(() => a.stats().executions + b.stats().executions, { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const records = await history('lease');
    const ticks = records.map((r) => r.scheduled);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(records.length).toBe(a.stats().executions + b.stats().executions);
    // Both runners were racing for every tick: each one the other won shows as skipped.
    expect(a.stats().skipped + b.stats().skipped).toBeGreaterThan(0);
  });
});

describe.concurrent('throttle and acknowledgement', () => {
  it('survive a restart of the runner, and an ack holds until the condition is false again', async ({ expect }) => {
    const w = flagWatch('throttle', '/throttle', { throttle: '1h' });
    await setFlag('throttle', true);
    const cfg = runnerConfig({ esUrl: url, prefix });
    let runner: Runner = await startRunner(cfg, { watches: [w] });
    await expect.poll(() => calls('/throttle').length, { timeout: 15_000 }).toBe(1);
    await runner.stop();

    // A new runner (a restart): the throttle period is read back from Elasticsearch.
    const seen: Execution[] = [];
    runner = await startRunner(cfg, { watches: [w], onExecution: (e) => seen.push(e) });
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    expect(calls('/throttle')).toHaveLength(1);
    expect(seen.every((e) => e.record.state === 'throttled' && !e.fired)).toBe(true);
    await runner.stop();

    const store = new StateStore(client, prefix);
    expect((await store.status('throttle')).actions.hook!.ack.state).toBe('ackable');
    expect(await ackWatch(store, 'throttle', undefined)).toEqual(['hook']);
    expect((await store.status('throttle')).actions.hook!.ack.state).toBe('acked');

    seen.length = 0;
    runner = await startRunner(cfg, { watches: [w], onExecution: (e) => seen.push(e) });
    await expect.poll(() => seen.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    // Acked and inside its 1 h period: Watcher checks the period first, so the record says throttled, and nothing is sent.
    expect(seen.every((e) => e.record.state === 'throttled' && !e.fired)).toBe(true);
    // The condition turns false: the ack is reset, as in Watcher.
    await setFlag('throttle', false);
    await expect.poll(async () => (await store.status('throttle')).actions.hook!.ack.state, { timeout: 15_000 }).toBe('awaits_successful_execution');
    await runner.stop();
    expect(calls('/throttle')).toHaveLength(1);
  });
});

describe.concurrent('Elasticsearch down', () => {
  it('the runner waits, resumes at the next tick, and fires no burst of duplicates', async ({ expect }) => {
    const proxy = await esRelay(url);
    const w = flagWatch('outage', '/outage', { throttle: '1h' });
    await setFlag('outage', true);
    const seen: Execution[] = [];
    const runner = await startRunner(runnerConfig({ esUrl: proxy.url, prefix }), { watches: [w], onExecution: (e) => seen.push(e) });
    try {
      await expect.poll(() => calls('/outage').length, { timeout: 15_000 }).toBe(1);
      await proxy.down();
      await expect.poll(() => runner.stats().elasticsearch, { timeout: 20_000 }).toBe('down');
      const during = seen.length;
      // Nothing may happen while it is down: three ticks' time passes, and no execution with it.
      await new Promise((r) => setTimeout(r, 3000));
      expect(seen.length).toBe(during);
      await proxy.up();
      await expect.poll(() => runner.stats().elasticsearch, { timeout: 20_000 }).toBe('up');
      await expect.poll(() => seen.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(during + 2);
    } finally {
      await runner.stop();
      await proxy.down().catch(() => {});
    }
    // The action ran once before the outage and was throttled after it: no duplicate firing.
    expect(calls('/outage')).toHaveLength(1);
    const records = await history('outage');
    expect(new Set(records.map((r) => r.scheduled)).size).toBe(records.length);
    // After the outage the runner executed only current ticks, one per second, not the missed ones at once.
    const after = seen.slice(-2).map((e) => e.ctx.trigger.scheduled_time.ms);
    expect(after[1]! - after[0]!).toBe(1000);
  });
});

describe.concurrent('webhook receivers that are slow or down', () => {
  it('do not hold up other rules, and a failed delivery is recorded with its reason', async ({ expect }) => {
    const slow = flagWatch('slow', '/slow', { readTimeout: '10s' });
    // A port nothing listens on: taken from the system, then released.
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const dead = parseWatch(
      'dead',
      {
        trigger: { schedule: { interval: '1s' } },
        input: { simple: {} },
        condition: { always: {} },
        actions: { hook: { throttle_period: '1h', webhook: { method: 'post', url: `http://127.0.0.1:${closedPort}/nothing-listens`, connection_timeout: '1s', read_timeout: '1s' } } },
        metadata: meta,
      },
      {},
    );
    const quick = logWatch('quick');
    await setFlag('slow', true);
    const seen: Execution[] = [];
    const runner = await startRunner(runnerConfig({ esUrl: url, prefix }), { watches: [slow, dead, quick], onExecution: (e) => seen.push(e) });
    const byWatch = (id: string) => seen.filter((e) => e.record.watch_id === id);
    try {
      await expect.poll(() => calls('/slow').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
      const quickBefore = byWatch('quick').length;
      // While the slow receiver holds its request for 4 s, the other rule keeps its one-second ticks.
      await expect.poll(() => byWatch('quick').length, { timeout: 3500 }).toBeGreaterThanOrEqual(quickBefore + 2);
      expect(byWatch('slow')).toHaveLength(0);
      await expect.poll(() => byWatch('dead').length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    } finally {
      await runner.stop();
    }
    const failed = byWatch('dead')[0]!.record.result.actions[0]!;
    expect(failed).toMatchObject({ id: 'hook', status: 'failure', webhook: { attempts: 3 } });
    expect(failed.reason).toMatch(/ECONNREFUSED/);
    expect(byWatch('slow')[0]!.record.result.actions[0]).toMatchObject({ status: 'success' });
  });
});

describe('webhooks to an HTTPS receiver whose certificate a private CA signed', () => {
  const firing = (id: string, url: string) =>
    parseWatch(id, { trigger: { schedule: { interval: '1s' } }, input: { simple: {} }, condition: { always: {} }, actions: { hook: { throttle_period: '1h', webhook: { method: 'post', url, body: '{{ctx.id}}' } } }, metadata: meta }, {});

  it('are delivered with MLMON_RULES_WEBHOOK_CA_CERT naming that CA, and fail saying so without it', async () => {
    const pki = throwawayTls();
    const secure = await receiver(() => 200, pki);
    const seen: Execution[] = [];
    const byWatch = (id: string) => seen.filter((e) => e.record.watch_id === id);
    const trusting = await startRunner(runnerConfig({ esUrl: url, prefix, env: { MLMON_RULES_WEBHOOK_CA_CERT: pki.ca } }), { watches: [firing('tls-trusted', `${secure.url}/trusted`)], onExecution: (e) => seen.push(e) });
    const plain = await startRunner(runnerConfig({ esUrl: url, prefix, env: { MLMON_RULES_WEBHOOK_RETRIES: '0' } }), { watches: [firing('tls-untrusted', `${secure.url}/untrusted`)], onExecution: (e) => seen.push(e) });
    try {
      await expect.poll(() => byWatch('tls-trusted').length > 0 && byWatch('tls-untrusted').length > 0, { timeout: 15_000 }).toBe(true);
    } finally {
      await Promise.all([trusting.stop(), plain.stop()]);
      await secure.close();
    }
    const trusted = byWatch('tls-trusted')[0]!;
    expect(trusted.record.result.actions[0]).toMatchObject({ id: 'hook', status: 'success', webhook: { attempts: 1, response: { status: 200 } } });
    expect(secure.received.filter((r) => r.path === '/trusted').map((r) => r.body)).toEqual([trusted.ctx.id]);
    const untrusted = byWatch('tls-untrusted')[0]!.record.result.actions[0]!;
    expect(untrusted).toMatchObject({ id: 'hook', status: 'failure', webhook: { attempts: 1 } });
    expect(untrusted.reason).toBe("TLS: the receiver's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate); set MLMON_RULES_WEBHOOK_CA_CERT to the CA that signed it");
    expect(secure.received.filter((r) => r.path === '/untrusted')).toEqual([]);
  });

  it('trust only the CA named, and a CA file that is not one stops the runner at start', async () => {
    const [signer, other] = [throwawayTls(), throwawayTls()];
    const secure = await receiver(() => 200, signer);
    const seen: Execution[] = [];
    const runner = await startRunner(runnerConfig({ esUrl: url, prefix, env: { MLMON_RULES_WEBHOOK_CA_CERT: other.ca, MLMON_RULES_WEBHOOK_RETRIES: '0' } }), { watches: [firing('tls-other-ca', `${secure.url}/other`)], onExecution: (e) => seen.push(e) });
    try {
      await expect.poll(() => seen.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    } finally {
      await runner.stop();
      await secure.close();
    }
    expect(seen[0]!.record.result.actions[0]).toMatchObject({ status: 'failure', reason: expect.stringMatching(/not trusted/) });
    expect(secure.received).toEqual([]);
    await expect(startRunner(runnerConfig({ esUrl: url, prefix, env: { MLMON_RULES_WEBHOOK_CA_CERT: '/nonexistent/ca.pem' } }))).rejects.toThrow(/MLMON_RULES_WEBHOOK_CA_CERT cannot be read: ENOENT/);
    await expect(startRunner(runnerConfig({ esUrl: url, prefix, env: { MLMON_RULES_WEBHOOK_CA_CERT: other.key } }))).rejects.toThrow(/MLMON_RULES_WEBHOOK_CA_CERT \(.*\) does not start with a PEM certificate/);
  });
});
