/**
 * `mlmon alerts`, `alerts silence` and `alerts unsilence`, run as a user runs them (the compiled CLI)
 * against a real Alertmanager started here on a free port with the committed alertmanager.yml.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAlertmanager, type LocalAlertmanager } from '@mlmon/alertmanager';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { freePort, waitUntil } from '@mlmon/runtime';
import { mlmon } from './mlmon-process.js';

const cluster = testCluster();
let am: LocalAlertmanager;
let dataDir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-am-cli-'));
  am = await startAlertmanager({ dataDir, port: await freePort() });
  // A prefix no runner wrote: the resolved list is empty, read from the real cluster.
  env = { ...process.env, MLMON_ALERTMANAGER_URL: am.url, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix };
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  await am.client.postAlerts([
    { labels: { alertname: 'latency-p99', severity: 'warning' }, annotations: { summary: 'p99 latency above 250 ms: 400 ms' }, endsAt },
    { labels: { alertname: 'model-accuracy-low', severity: 'critical', model_version: 'v2', target: 'v2' }, annotations: { summary: 'accuracy 0.8' }, endsAt },
  ]);
  await waitUntil(async () => (await am.client.alerts()).every((a) => a.status.state === 'active') && (await am.client.alerts()).length === 2, { timeoutMs: 10_000, what: 'two active alerts' });
});
afterAll(async () => {
  await am?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await cluster.cleanup();
});

const stateOf = async (alertname: string) => (await am.client.alerts({ filter: [`alertname="${alertname}"`] }))[0]?.status;

it('lists what Alertmanager holds', async () => {
  const r = await mlmon(['alerts'], env);
  expect(r.code, r.out).toBe(0);
  expect(r.out).toContain('firing (2)');
  expect(r.out).toMatch(/critical\s+model-accuracy-low\s+model_version=v2\s+since \S+Z\s+accuracy 0\.8/);
  expect(r.out).toMatch(/warning\s+latency-p99\s+stack-wide/);
  expect(r.out).toContain('suppressed (0)');
  expect(r.out).toContain('resolved in the last 24 h (0)');
});

it('a silence made with the CLI suppresses the alerts it matches, expires at --for, and unsilence ends it', async () => {
  const r = await mlmon(['alerts', 'silence', 'alertname=latency-p99', 'severity=~"warn.*"', '--for', '2h', '--comment', 'known: load test until 16:00', '--author', 'test'], env);
  expect(r.code, r.out).toBe(0);
  const id = /^silence (\S+):/.exec(r.out)?.[1];
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const [silence] = (await am.client.silences()).filter((s) => s.id === id);
  expect(silence).toMatchObject({ createdBy: 'test', comment: 'known: load test until 16:00', status: { state: 'active' } });
  expect(silence!.matchers).toEqual([
    { name: 'alertname', value: 'latency-p99', isRegex: false, isEqual: true },
    { name: 'severity', value: 'warn.*', isRegex: true, isEqual: true },
  ]);
  // It ends by itself 2 h after the command (Alertmanager moves a start already past to its own now).
  const until = /until (\S+) /.exec(r.out)![1]!;
  expect(Date.parse(silence!.endsAt)).toBe(Date.parse(until));
  expect(Date.parse(until) - Date.parse(silence!.startsAt)).toBeGreaterThan(2 * 3_600_000 - 60_000);

  await expect.poll(() => stateOf('latency-p99'), { timeout: 10_000 }).toEqual({ state: 'suppressed', silencedBy: [id], inhibitedBy: [] });
  expect((await stateOf('model-accuracy-low'))?.state).toBe('active');
  const listed = await mlmon(['alerts'], env);
  expect(listed.out).toContain('firing (1)');
  expect(listed.out).toMatch(new RegExp(`suppressed \\(1\\)\\n\\s+warning\\s+latency-p99\\s+stack-wide\\s+silenced by ${id}`));

  const un = await mlmon(['alerts', 'unsilence', id!], env);
  expect(un.code, un.out).toBe(0);
  expect((await am.client.silences()).find((s) => s.id === id)?.status.state).toBe('expired');
  await expect.poll(() => stateOf('latency-p99'), { timeout: 10_000 }).toEqual({ state: 'active', silencedBy: [], inhibitedBy: [] });
});

it('bad input gets a clear error and changes nothing', async () => {
  const before = (await am.client.silences()).length;
  const bad = await mlmon(['alerts', 'silence', 'alertname', '--for', '2h', '--comment', 'x'], env);
  expect(bad.code).not.toBe(0);
  expect(bad.out).toContain('bad matcher "alertname"');
  const noDuration = await mlmon(['alerts', 'silence', 'alertname=x', '--for', 'soon', '--comment', 'x'], env);
  expect(noDuration.out).toContain('--for: not a duration: "soon"');
  const everything = await mlmon(['alerts', 'silence', 'alertname=~".*"', '--for', '2h', '--comment', 'x'], env);
  expect(everything.out).toContain('at least one matcher must not match the empty string');
  expect((await am.client.silences()).length).toBe(before);
});
