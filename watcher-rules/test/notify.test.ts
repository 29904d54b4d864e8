/**
 * The Slack-compatible notification: absent unless MLMON_RULES_NOTIFY_WEBHOOK_URL is set,
 * then sent by a firing rule to a local receiver in Slack's incoming-webhook
 * shape, with the observed value, threshold, target and runbook.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { setupTemplates } from '@mlmon/contract';
import { deploymentOf } from '../src/config.js';
import { loadWatches } from '../src/load.js';
import { startRunner } from '../src/runner.js';
import type { Execution } from '../src/watcher/execute.js';
import { CASES } from './fixtures/cases.js';
import { alertLines, indexDocs, receiver, runnerConfig } from './support.js';

const cluster = testCluster();
let slack: Awaited<ReturnType<typeof receiver>>;
beforeAll(async () => {
  await setupTemplates(cluster.client, { prefix: cluster.prefix });
  slack = await receiver();
});
afterAll(async () => {
  await slack.close();
  await cluster.cleanup();
});

it('is off by default', () => {
  const config = runnerConfig({ esUrl: cluster.url, prefix: cluster.prefix });
  expect(config.MLMON_RULES_NOTIFY_WEBHOOK_URL).toBeUndefined();
  expect(loadWatches({ deployment: deploymentOf(config) }).some((w) => 'notify' in w.body.actions)).toBe(false);
});

it('with a URL, every rule of at least the configured severity notifies there', () => {
  const config = runnerConfig({ esUrl: cluster.url, prefix: cluster.prefix, env: { MLMON_RULES_NOTIFY_WEBHOOK_URL: `${slack.url}/services/T0/B0/x`, MLMON_RULES_NOTIFY_MIN_SEVERITY: 'critical' } });
  const watches = loadWatches({ deployment: deploymentOf(config), notifyMinSeverity: config.MLMON_RULES_NOTIFY_MIN_SEVERITY });
  for (const w of watches) expect('notify' in w.body.actions, w.id).toBe(w.body.metadata.severity === 'critical');
});

/** A rule's firing case, run by the runner at its tick `hoursAgo` whole hours back, notifying `path` on the receiver. */
async function fire(rule: string, hoursAgo: number, path: string): Promise<{ seen: Execution[]; logDir: string }> {
  const c = CASES.find((x) => x.rule === rule && x.fires)!;
  const T = Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000;
  await indexDocs(cluster.client, cluster.prefix, c.docs(T));
  const config = { ...runnerConfig({ esUrl: cluster.url, prefix: cluster.prefix, env: { MLMON_RULES_NOTIFY_WEBHOOK_URL: `${slack.url}${path}` } }), MLMON_RULES_ONLY: [c.rule] };
  const seen: Execution[] = [];
  const offset = Date.now() - (T - 500);
  const runner = await startRunner(config, { clock: () => Date.now() - offset, onExecution: (e) => seen.push(e) });
  try {
    await expect.poll(() => seen.length, { timeout: 20_000 }).toBeGreaterThan(0);
  } finally {
    await runner.stop();
  }
  return { seen, logDir: config.MLMON_LOG_DIR };
}

it('a firing rule posts a Slack-compatible message to the receiver', async () => {
  const { seen } = await fire('cpu-saturation', 3, '/services/T0/B0/x');
  expect(slack.received).toHaveLength(1);
  const msg = slack.received[0]!;
  expect(msg.path).toBe('/services/T0/B0/x');
  expect(msg.headers['content-type']).toBe('application/json');
  const body = JSON.parse(msg.body) as { text: string; attachments: Array<{ color: string; title: string; fields: Array<{ title: string; value: string; short: boolean }> }> };
  expect(body.text).toBe('[warning] Replica CPU saturated: 95 % of one core (threshold 90) replica-2');
  const fields = Object.fromEntries(body.attachments[0]!.fields.map((f) => [f.title, f.value]));
  expect(fields).toMatchObject({ rule: 'cpu-saturation', observed: '95', threshold: '90', target: 'replica-2', runbook: 'docs/runbooks/cpu-saturation.md', execution: seen[0]!.record.id });
  expect(body.attachments[0]!.color).toBe('warning');
  expect(seen[0]!.record.result.actions.map((a) => [a.id, a.status])).toEqual([
    ['log', 'success'],
    ['notify', 'success'],
  ]);
});

it('a rule with a reference threshold names the threshold its document carried, and the alert line does too', async () => {
  const before = slack.received.length;
  const { logDir } = await fire('multivariate-drift', 5, '/services/T0/B0/y');
  const body = JSON.parse(slack.received[before]!.body) as { text: string; attachments: Array<{ fields: Array<{ title: string; value: string }> }> };
  expect(body.text).toBe('[warning] Multivariate drift: reconstruction error above the reference: 4 mean reconstruction error (threshold 3.039) v1');
  expect(Object.fromEntries(body.attachments[0]!.fields.map((f) => [f.title, f.value]))).toMatchObject({ observed: '4', threshold: '3.039' });
  const alert = alertLines(logDir)[0]!;
  expect(alert.message).toBe('Multivariate drift: reconstruction error above the reference: 4 mean reconstruction error (reference threshold 3.039) on v1');
  expect(alert.mlmon.alert).toMatchObject({ value: 4, threshold: 3.039 });
});
