/**
 * Every rule against the real cluster: for each, data that must fire it and
 * data that must not (test/fixtures/cases.ts), in the shapes the shipper
 * indexes. Each case gets its own hour in the past, so cases do not see each
 * other's data. `rules test` (dryRunTick) and the runner (replaying that hour
 * with a shifted clock) must agree on every case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { REMEDIATION_HOOKS, setupTemplates } from '@mlmon/contract';
import { deploymentOf } from '../src/config.js';
import { dryRunTick } from '../src/dry-run.js';
import { loadWatches, type LoadedWatch } from '../src/load.js';
import { startRunner } from '../src/runner.js';
import type { Execution } from '../src/watcher/execute.js';
import { CASES } from './fixtures/cases.js';
import { TOKEN, alertLines, indexDocs, receiver, runnerConfig } from './support.js';

const cluster = testCluster();
const { client, prefix, url } = cluster;
const HOUR = 3_600_000;
// Case i is evaluated at tick T_i: whole hours, two apart, ending a day ago (so no case reaches the next one's windows, the longest being 1 h).
const base = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR - 2 * HOUR * CASES.length;
const tickOf = (i: number) => base + 2 * HOUR * (i + 1);
let watches: Map<string, LoadedWatch>;
let hook: Awaited<ReturnType<typeof receiver>>;

beforeAll(async () => {
  await setupTemplates(client, { prefix });
  hook = await receiver();
  const config = runnerConfig({ esUrl: url, prefix, env: { MLMON_REMEDIATOR_URL: hook.url } });
  watches = new Map(loadWatches({ deployment: deploymentOf(config) }).map((w) => [w.id, w]));
  await indexDocs(client, prefix, CASES.flatMap((c, i) => c.docs(tickOf(i))));
}, 180_000);
afterAll(async () => {
  await hook?.close();
  await cluster.cleanup();
});

it('every watch has cases that fire it and cases that do not', () => {
  for (const id of watches.keys()) {
    expect(CASES.filter((c) => c.rule === id && c.fires), `${id}: a firing case`).not.toHaveLength(0);
    expect(CASES.filter((c) => c.rule === id && !c.fires), `${id}: a quiet case`).not.toHaveLength(0);
  }
});

describe('rules test (dry run) on each case', () => {
  CASES.forEach((c, i) => {
    it(`${c.rule}: ${c.name} ${c.fires ? 'fires' : 'does not fire'}`, async () => {
      const r = await dryRunTick(client, watches.get(c.rule)!, tickOf(i));
      expect(r.error).toBeUndefined();
      expect(r.would_fire).toBe(c.fires);
      if (c.fires) {
        expect(r.value).toBeCloseTo(c.value!, 5);
        expect(r.threshold).toBe(c.threshold ?? watches.get(c.rule)!.body.metadata.threshold);
        if (c.target) expect(r.target).toBe(c.target);
      }
    });
  });
});

describe('the runner agrees with rules test on each case', () => {
  const config = () => runnerConfig({ esUrl: url, prefix, env: { MLMON_REMEDIATOR_URL: hook.url } });
  CASES.forEach((c, i) => {
    it(`${c.rule}: ${c.name}`, async () => {
      const T = tickOf(i);
      const cfg = { ...config(), MLMON_RULES_ONLY: [c.rule] };
      const executions: Execution[] = [];
      // The runner's clock reads 50 ms before T when it first asks (to schedule its first tick), however
      // long starting took: its first tick is T, 50 ms later.
      let offset: number | undefined;
      const clock = () => Date.now() - (offset ??= Date.now() - (T - 50));
      const sent = hook.received.length;
      const runner = await startRunner(cfg, { clock, onExecution: (e) => executions.push(e) });
      try {
        await expect.poll(() => executions.length, { timeout: 20_000 }).toBeGreaterThan(0);
      } finally {
        await runner.stop();
      }
      const e = executions[0]!;
      const scheduled = e.ctx.trigger.scheduled_time.ms;
      expect(scheduled).toBe(T);
      const dry = await dryRunTick(client, watches.get(c.rule)!, scheduled);
      expect(e.fired).toBe(dry.would_fire);
      expect(e.condition?.met).toBe(dry.met);
      const alerts = alertLines(cfg.MLMON_LOG_DIR);
      expect(alerts).toHaveLength(c.fires ? 1 : 0);
      if (!c.fires) return;
      const alert = alerts[0]!;
      expect(alert.mlmon.alert).toMatchObject({ id: e.record.id, rule: c.rule, state: 'firing', value: dry.value, threshold: dry.threshold, runbook: `docs/runbooks/${c.rule}.md` });
      const m = watches.get(c.rule)!.body.metadata;
      if (m.remediation) {
        const calls = hook.received.slice(sent);
        expect(calls).toHaveLength(1);
        expect(calls[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
        expect(calls[0]!.path).toBe(`/v1/hooks/${REMEDIATION_HOOKS[m.remediation]}`);
        const body = JSON.parse(calls[0]!.body) as Record<string, string>;
        expect(body).toMatchObject({ watch_id: c.rule, execution_id: e.record.id, action: m.remediation, severity: m.severity, threshold: String(c.threshold ?? m.threshold) });
        expect(Number(body.value)).toBeCloseTo(c.value!, 5);
        expect(alert.mlmon.alert.action).toBe(m.remediation);
        expect(alert.mlmon.alert.actions).toEqual([{ id: 'remediate', type: 'webhook', status: 'success' }]);
        expect(body.target).toBe(['scale_out', 'scale_in'].includes(m.remediation) ? 'api' : (c.hookTarget ?? c.target));
      }
    });
  });
});
