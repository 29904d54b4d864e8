import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { DASHBOARDS } from '@mlmon/kibana';
import { bootstrappedPython } from '@mlmon/runtime/testing';
import { startDashboard } from '../../src/dashboard/server.js';
import { REPO_ROOT } from '../../src/stack/paths.js';
import { cluster, decisions, expectLoop, expectPromptAlert, mlmon, models, paths, ruleOf, search, stack, useLoopStack, watchConditions, type Remediation } from './support.js';

useLoopStack();

describe('the closed loop on bad and drifting models', () => {
  it('bad-model --mode canary: the broken canary is removed', async () => {
    const since = new Date();
    const conditions = watchConditions();
    const run = await mlmon('simulate', 'bad-model', '--mode', 'canary', '--weight', '50', '--rate', '30', '--duration', '20', '--feedback', '1', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    const done = await expectLoop(since, 'rollback', 90_000, conditions);
    expect(done.mlmon.remediation.target).toBe('broken');
    expect((await models()).canary).toBeNull();
  }, 150_000);

  it('bad-model --mode active: the previous version is active again', async () => {
    const since = new Date();
    const conditions = watchConditions();
    const run = await mlmon('simulate', 'bad-model', '--mode', 'active', '--rate', '30', '--duration', '20', '--feedback', '1', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    const done = await expectLoop(since, 'rollback', 120_000, conditions);
    expect(done.mlmon.remediation.version).toEqual({ before: 'broken', after: 'v1' });
    expect((await models()).active).toBe('v1');
  }, 150_000);

  it('drift with feedback: a retrained model appears as a canary, with its lineage', async () => {
    // The retraining runs train.py in model/.venv, which the bootstrap may still be installing: without it the
    // job would make a second one (minutes of pip) inside the rule's deadline.
    await bootstrappedPython(REPO_ROOT);
    const since = new Date();
    const conditions = watchConditions();
    // Drift rules wait for 1,000 predictions in the window: 40/s for 35 s.
    const run = await mlmon('simulate', 'drift', '--rate', '40', '--duration', '35', '--feedback', '0.5', '--feedback-delay', '0.5');
    expect(run.code, run.out).toBe(0);
    await expect.poll(async () => (await decisions(since, 'retrain')).map((d) => d.mlmon.remediation.decision), { timeout: 180_000, interval: 2000 }).toContain('registered');
    const registered = (await decisions(since, 'retrain')).find((d) => d.mlmon.remediation.decision === 'registered')!;
    await expectPromptAlert(since, await ruleOf(registered), conditions);
    const version = registered.mlmon.remediation.version!.after!;
    expect((await models()).canary?.version).toBe(version);
    const jobTrail = (await search<Remediation>('mlmon.remediation', new Date(0), [{ term: { 'mlmon.remediation.job_id': registered.mlmon.remediation.job_id! } }])).map((d) => d.mlmon.remediation.decision);
    expect(jobTrail).toEqual(expect.arrayContaining(['started', 'finished', 'registered']));
    expect(readdirSync(path.join(paths.runDir, 'models'))).toContain(version);
    expect(existsSync(path.join(paths.runDir, 'models', version, 'model_card.json'))).toBe(true);
  }, 300_000 + 600_000);

  it('after these scenarios the live dashboard, in headless Chromium, has data in every panel and shows the shifted features in the PSI panel', async () => {
    // Rejected input too, so that the rejected-input panels have something to count.
    for (const body of [{ features: { mean_radius: 'x' } }, { instances: [] }, {}]) {
      const res = await fetch(`${stack().url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
    }
    const { server, url } = await startDashboard({ client: cluster.client, prefix: cluster.prefix }, 0);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      const points = () => page.$$eval('.panel', (els) => els.map((e) => [e.getAttribute('data-panel'), Number(e.getAttribute('data-points') ?? 0)] as const));
      // No shadow is deployed in these scenarios: the shadow panel is checked with data in dashboard.int.test.ts.
      const empty = async () => (await points()).filter(([id, n]) => n === 0 && id !== 'shadow').map(([id]) => id);
      // Every panel drawn first (an empty page has no empty panel either), then each with data.
      await expect.poll(async () => (await points()).length, { timeout: 30_000 }).toBe(DASHBOARDS.flatMap((d) => d.panels).length);
      await expect.poll(empty, { timeout: 60_000, interval: 2000 }).toEqual([]);
      const psi = (await page.textContent('.panel[data-panel="psi-heatmap"]')) ?? '';
      expect(['mean_radius', 'mean_perimeter', 'mean_area', 'worst_radius'].filter((f) => psi.includes(f))).not.toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      server.close();
    }
  }, 120_000);
});
