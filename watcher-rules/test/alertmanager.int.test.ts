/**
 * The notification path against a real Alertmanager (Debian's 0.25 or the Go module build, started
 * here on a free port with the committed alertmanager.yml) and the real cluster: a firing rule
 * reaches it with its labels and annotations, the alert ends when the condition clears, what the
 * runner told it survives a restart of the runner (the state index), and the webhook action
 * `rules install` gives Watcher posts a body Alertmanager accepts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAlertmanager, type GettableAlert, type LocalAlertmanager } from '@mlmon/alertmanager';
import { setupTemplates } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { freePort } from '@mlmon/runtime';
import { alertTemplate, TICKS_AHEAD, withAlertmanager } from '../src/alertmanager.js';
import { deploymentOf } from '../src/config.js';
import { loadWatches } from '../src/load.js';
import { startRunner } from '../src/runner.js';
import { StateStore } from '../src/state.js';
import type { Execution } from '../src/watcher/execute.js';
import { CASES } from './fixtures/cases.js';
import { indexDocs, runnerConfig } from './support.js';

const cluster = testCluster();
let am: LocalAlertmanager;
let dataDir: string;
beforeAll(async () => {
  await setupTemplates(cluster.client, { prefix: cluster.prefix });
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-am-'));
  am = await startAlertmanager({ dataDir, port: await freePort() });
});
afterAll(async () => {
  await am?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await cluster.cleanup();
});

const TICK = '3s';
const config = (env: Record<string, string> = {}) => ({
  ...runnerConfig({ esUrl: cluster.url, prefix: cluster.prefix, env: { MLMON_RULES_INTERVAL: TICK, ...env } }),
});

/** Runs `rule` with the real clock until `done` holds for one of its executions, then stops the runner. */
async function runUntil(rule: string, done: (e: Execution) => boolean, o: { env?: Record<string, string>; watches?: ReturnType<typeof loadWatches> } = {}): Promise<Execution> {
  const seen: Execution[] = [];
  const runner = await startRunner({ ...config(o.env), MLMON_RULES_ONLY: [rule] }, { onExecution: (e) => seen.push(e), ...(o.watches ? { watches: o.watches } : {}) });
  try {
    await expect.poll(() => seen.some(done), { timeout: 30_000, interval: 200 }).toBe(true);
  } finally {
    await runner.stop();
  }
  return seen.find(done)!;
}

const alertsOf = (rule: string): Promise<GettableAlert[]> => am.client.alerts({ filter: [`alertname="${rule}"`] });
const fires = (rule: string) => CASES.find((c) => c.rule === rule && c.fires)!;

it('a firing rule reaches Alertmanager with its labels, annotations and an endsAt a few ticks ahead', async () => {
  await indexDocs(cluster.client, cluster.prefix, fires('cpu-saturation').docs(Date.now()));
  const e = await runUntil('cpu-saturation', (x) => x.condition?.met === true, { env: { MLMON_ALERTMANAGER_URL: am.url } });
  const [alert, ...others] = await alertsOf('cpu-saturation');
  expect(others).toEqual([]);
  expect(alert!.labels).toEqual({ alertname: 'cpu-saturation', severity: 'warning', target: 'replica-2', replica: 'replica-2' });
  expect(alert!.annotations).toEqual({
    summary: 'Replica CPU saturated: 95 % of one core (threshold 90)',
    description: e.ctx.metadata.description,
    runbook_url: 'docs/runbooks/cpu-saturation.md',
  });
  expect(alert!.receivers).toEqual([{ name: 'team' }]);
  expect(alert!.status.state).toBe('active');
  // endsAt = the tick's clock + TICKS_AHEAD ticks, re-sent every tick (the state index has the last one sent).
  const [told] = (await cluster.client.get<{ notified: Array<{ endsAt: string; startsAt: string; state: string }> }>({ index: `${cluster.prefix}-rules-state`, id: 'cpu-saturation' }))._source!.notified;
  expect(told!.state).toBe('firing');
  expect(Date.parse(told!.endsAt) - Date.parse(alert!.startsAt)).toBeGreaterThanOrEqual(TICKS_AHEAD * 3000);
  expect(Date.parse(alert!.endsAt)).toBe(Date.parse(told!.endsAt));
});

it('what the runner told Alertmanager survives a restart: a new runner ends the alert once the condition clears', async () => {
  const [firing] = await alertsOf('cpu-saturation');
  expect(firing?.status.state).toBe('active');
  // The condition clears: the heartbeats are gone (this distribution has no delete-by-query: their indices go).
  const indices = Object.keys(await cluster.client.indices.get({ index: `${cluster.prefix}-*` })).filter((i) => i.includes('resource'));
  expect(indices.length).toBeGreaterThan(0);
  await cluster.client.indices.delete({ index: indices.join(',') });

  await runUntil('cpu-saturation', (x) => x.condition?.met === false, { env: { MLMON_ALERTMANAGER_URL: am.url } });
  expect(await alertsOf('cpu-saturation')).toEqual([]);
  await cluster.client.indices.refresh({ index: `${cluster.prefix}-rules-state` });
  const notified = await new StateStore(cluster.client, cluster.prefix).all().then((docs) => docs.find((d) => d.watch_id === 'cpu-saturation')!.notified!);
  expect(notified.map((a) => [a.labels.replica, a.state])).toEqual([['replica-2', 'resolved']]);
  // Ended by the new runner, before the endsAt the old one had sent ran out.
  expect(Date.parse(notified[0]!.endsAt)).toBeLessThan(Date.parse(firing!.endsAt));
  expect(notified[0]!.startsAt).toBe(new Date(Date.parse(firing!.startsAt)).toISOString());
});

it("a rule on a model version is labelled with it, and the Watcher action's body (as `rules install` puts it) is an alert Alertmanager takes", async () => {
  await indexDocs(cluster.client, cluster.prefix, fires('multivariate-drift').docs(Date.now()));
  const c = config();
  const [w] = loadWatches({ deployment: deploymentOf(c) }).filter((x) => x.id === 'multivariate-drift');
  expect(alertTemplate(w!).labels).toEqual({
    alertname: 'multivariate-drift',
    severity: 'warning',
    target: '{{ctx.payload.hits.hits.0._source.mlmon.model.version}}',
    model_version: '{{ctx.payload.hits.hits.0._source.mlmon.model.version}}',
  });
  const forWatcher = withAlertmanager(w!, am.url);
  expect(forWatcher.body.actions.alertmanager?.webhook).toMatchObject({ method: 'post', url: `${am.url}/api/v2/alerts` });
  // The runner executes the webhook action as Watcher would (no MLMON_ALERTMANAGER_URL: no native notification here).
  const e = await runUntil('multivariate-drift', (x) => x.record.result.actions.some((a) => a.id === 'alertmanager'), { watches: [forWatcher] });
  expect(e.record.result.actions.find((a) => a.id === 'alertmanager')?.status).toBe('success');
  const [alert] = await alertsOf('multivariate-drift');
  expect(alert!.labels).toEqual({ alertname: 'multivariate-drift', severity: 'warning', target: 'v1', model_version: 'v1' });
  expect(alert!.annotations.summary).toBe('Multivariate drift: reconstruction error above the reference: 4 mean reconstruction error (threshold 3.039)');
  // Without endsAt in the body, Alertmanager ends it resolve_timeout (5m, alertmanager.yml) after the last post.
  expect(Date.parse(alert!.endsAt) - Date.parse(alert!.updatedAt)).toBe(5 * 60_000);
});
