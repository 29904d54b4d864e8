/**
 * A shadow deployment on the real local stack (`mlmon up`: nginx, replicas,
 * shipper, analyzer, rule runner, remediator): v2 active, v1 as its shadow
 * (on the holdout v1 is right where v2 is wrong 4 times as often as the
 * reverse), labeled traffic from `simulate shadow`. The analyzer's paired
 * figures must equal what the simulator counted from both versions' known
 * predictions within a minute of the traffic, and the rule shadow-better must
 * have the remediator promote the shadow to canary without anyone touching it.
 * The analyzer ticks every 2 s and the runner every 5 s, as in loop.test.ts.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { admin, untilEveryReplica } from '../src/stack/client.js';
import { REPO_ROOT, runPaths } from '../src/stack/paths.js';
import { readStackFile, runningStack, type StackFile } from '../src/stack/stack-file.js';
import { mlmon as runMlmon, upOnFreePorts } from './mlmon-process.js';

const cluster = testCluster();
// The shipped rules but those that retrain: replaying the holdout to v2 moves its drift figures, and a
// retrained model registers itself as the canary, replacing the promoted one this test looks for.
const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-shadow-rules-'));
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-shadow-')), 'run'));
const env = {
  ...process.env,
  MLMON_RUN_DIR: paths.runDir,
  MLMON_ES_URL: cluster.url,
  MLMON_INDEX_PREFIX: cluster.prefix,
  MLMON_ANALYZER_INTERVAL: '2s',
  MLMON_RULES_INTERVAL: '5s',
  MLMON_RULES_DIR: rulesDir,
  MLMON_API_RESOURCE_INTERVAL: '2s',
  MLMON_REMEDIATOR_PROMOTE_WEIGHT: '20',
  MLMON_REMEDIATOR_COOLDOWN: '5s',
  MLMON_REMEDIATOR_MIN_REPLICAS: '2',
  MLMON_REMEDIATOR_MAX_REPLICAS: '2',
};
const mlmon = (...args: string[]) => runMlmon(args, env);
let stack: StackFile;

type Quality = EventOf<'mlmon.quality'>;
type Remediation = EventOf<'mlmon.remediation'>;

/** The analyzer's latest 1h quality document of the shadow v1. */
async function latestShadowQuality(): Promise<Quality['mlmon']['quality'] | undefined> {
  const res = await cluster.client.search<Quality>(
    {
      index: `${cluster.prefix}-metrics-*`,
      size: 1,
      sort: [{ '@timestamp': 'desc' }],
      query: { bool: { filter: [{ term: { 'event.dataset': 'mlmon.quality' } }, { term: { 'mlmon.model.role': 'shadow' } }, { term: { 'mlmon.model.version': 'v1' } }, { term: { 'mlmon.window.name': '1h' } }] } },
    },
    { ignore: [404] },
  );
  return res.hits?.hits[0]?._source?.mlmon.quality;
}

async function promotions(since: Date): Promise<Remediation[]> {
  const res = await cluster.client.search<Remediation>(
    {
      index: `${cluster.prefix}-events-*`,
      size: 10,
      query: { bool: { filter: [{ term: { 'event.dataset': 'mlmon.remediation' } }, { term: { 'mlmon.remediation.action': 'promote' } }, { range: { '@timestamp': { gte: since.toISOString() } } }] } },
    },
    { ignore: [404] },
  );
  return (res.hits?.hits ?? []).map((h) => h._source!);
}

beforeAll(async () => {
  cpSync(path.join(REPO_ROOT, 'watcher-rules/watches'), rulesDir, { recursive: true });
  for (const retrains of ['drift-psi', 'drift-share']) rmSync(path.join(rulesDir, `${retrains}.json`));
  await upOnFreePorts({ replicas: 2, maxReplicas: 2 }, env);
  stack = readStackFile(paths)!;
}, 180_000);

afterAll(async () => {
  if (runningStack(paths)) await mlmon('down');
  await cluster.cleanup();
}, 90_000);

describe('a shadow on the real stack', () => {
  it('mlmon model shadow sets the shadow on every replica, refuses a bad sample, and --off removes it', async () => {
    expect((await mlmon('model', 'shadow', 'v2', '--sample', '2')).code).not.toBe(0);
    // The active version cannot be its own shadow.
    expect((await mlmon('model', 'shadow', 'v1')).code).not.toBe(0);
    const set = await mlmon('model', 'shadow', 'v2', '--sample', '0.5');
    expect(set.code, set.out).toBe(0);
    expect(set.out).toContain('shadow v2 on 50% of requests');
    const status = await mlmon('model', 'status', '--json');
    expect(status.code, status.out).toBe(0);
    const s = JSON.parse(status.out.slice(status.out.indexOf('{'))) as { agree: boolean; replicas: Array<{ state: { shadow: unknown } }> };
    expect(s.agree).toBe(true);
    expect(s.replicas).toHaveLength(2);
    expect(s.replicas.map((r) => r.state.shadow)).toEqual([{ version: 'v2', sample: 0.5 }, { version: 'v2', sample: 0.5 }]);
    const off = await mlmon('model', 'shadow', '--off');
    expect(off.code, off.out).toBe(0);
    expect(off.out).toContain('no shadow');
  }, 60_000);

  it('paired figures equal to the known predictions within a minute of labeled traffic, and the better shadow promoted to canary', async () => {
    await admin(stack, 'PUT', '/admin/models/active', { version: 'v2' });
    await untilEveryReplica(stack, (s) => s.active === 'v2');
    const since = new Date();
    // First fewer requests than it takes to call the shadow better: the holdout's rows in order, each
    // labeled, give fewer than 20 discordant pairs, so the shadow stays and every copy is counted.
    const first = await mlmon('simulate', 'shadow', '--shadow', 'v1', '--sample', '1', '--rate', '10', '--duration', '30', '--feedback', '1', '--feedback-delay', '0.5');
    expect(first.code, first.out).toBe(0);
    const num = (name: string) => Number(new RegExp(`${name} ([0-9.e-]+)`).exec(first.out)![1]);
    const expected = { pairs: num('pairs'), labeled_pairs: Number(/on (\d+) labeled pairs/.exec(first.out)![1]), b: num('active_only_correct'), c: num('shadow_only_correct') };
    expect(expected.c).toBeGreaterThan(expected.b);
    expect(expected.b + expected.c).toBeLessThan(20);

    // Within a minute of the traffic's end, every pair and label is in the analyzer's figures.
    await expect
      .poll(async () => {
        const p = (await latestShadowQuality())?.paired;
        return p && { pairs: p.pairs, labeled_pairs: p.labeled_pairs, b: p.active_only_correct, c: p.shadow_only_correct };
      }, { timeout: 60_000, interval: 2000 })
      .toEqual(expected);
    const p = (await latestShadowQuality())!.paired!;
    expect(p.active_version).toBe('v2');
    expect(p.agreement).toBeCloseTo(num('agreement'), 2);
    expect(p.active_accuracy).toBeCloseTo(num('active_accuracy'), 2);
    expect(p.shadow_accuracy).toBeCloseTo(num('shadow_accuracy'), 2);
    expect(p.mcnemar_p_value).toBeCloseTo(num('mcnemar_p_value'), 2);
    expect(p.significantly_better).toBe(false);
    expect(await promotions(since)).toEqual([]);

    // More labeled traffic: enough discordant pairs, shadow-better fires, the remediator promotes v1 to canary.
    const second = await mlmon('simulate', 'shadow', '--shadow', 'v1', '--sample', '1', '--rate', '30', '--duration', '30', '--feedback', '1', '--feedback-delay', '0.5');
    expect(second.code, second.out).toBe(0);
    await expect.poll(async () => (await promotions(since)).filter((d) => d.mlmon.remediation.decision === 'executed').length, { timeout: 60_000, interval: 2000 }).toBeGreaterThan(0);
    const done = (await promotions(since)).find((d) => d.mlmon.remediation.decision === 'executed')!;
    expect(done.mlmon.remediation.target).toBe('v1');
    const models = (await (await fetch(`${stack.url}/v1/models`)).json()) as { active: string; canary: unknown; shadow: unknown };
    expect(models).toMatchObject({ active: 'v2', canary: { version: 'v1', weight: 20 }, shadow: null });
  }, 300_000);
});
