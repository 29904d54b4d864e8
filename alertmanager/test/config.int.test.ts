/**
 * The committed alertmanager.yml, checked by Alertmanager's own tools and by a real Alertmanager
 * (Debian's 0.25, or the Go module build) started on a free port with it: routes by severity,
 * grouping by rule and model version, and both inhibit rules, observed through its API v2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitUntil } from '@mlmon/runtime';
import { ALERTMANAGER_CONFIG, amtoolBinary, startAlertmanager, type LocalAlertmanager, type PostableAlert } from '../src/index.js';

const amtool = (...args: string[]) => spawnSync(amtoolBinary(), args, { encoding: 'utf8' });

describe('amtool', () => {
  it('check-config accepts the committed file and counts what it holds', () => {
    const r = amtool('check-config', ALERTMANAGER_CONFIG);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
    expect(r.stdout).toContain(' - 2 inhibit rules');
    expect(r.stdout).toContain(' - 6 receivers');
  });

  it('check-config can fail: a route to an undefined receiver is refused', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-am-bad-'));
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, "route:\n  receiver: pagr\nreceivers:\n  - name: 'null'\n");
    const r = amtool('check-config', bad);
    rmSync(dir, { recursive: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('undefined receiver "pagr" used in route');
  });

  it.each([
    ['critical', 'oncall'],
    ['warning', 'team'],
    ['info', 'null'],
  ])('routes severity=%s to %s', (severity, receiver) => {
    const out = execFileSync(amtoolBinary(), ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_CONFIG}`, `severity=${severity}`, 'alertname=latency-p99'], { encoding: 'utf8' });
    expect(out.trim()).toBe(receiver);
  });
});

describe('a real Alertmanager with the committed config', () => {
  let am: LocalAlertmanager;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-am-data-'));
    am = await startAlertmanager({ dataDir, port: await freePort() });
  });
  afterAll(async () => {
    await am?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const ends = () => new Date(Date.now() + 10 * 60_000).toISOString();
  const alert = (labels: Record<string, string>): PostableAlert => ({ labels, annotations: { summary: labels.alertname! }, endsAt: ends() });
  const byName = async (filter: string[]) => {
    const all = await am.client.alerts({ filter });
    return new Map(all.map((a) => [`${a.labels.alertname}/${a.labels.replica ?? a.labels.model_version ?? ''}`, a]));
  };

  it('groups by rule and model version', async () => {
    await am.client.postAlerts([
      alert({ alertname: 'drift-psi', severity: 'warning', model_version: 'v2', target: 'v2 f1', test: 'group' }),
      alert({ alertname: 'drift-psi', severity: 'warning', model_version: 'v2', target: 'v2 f7', test: 'group' }),
      alert({ alertname: 'drift-psi', severity: 'warning', model_version: 'v1', target: 'v1 f1', test: 'group' }),
    ]);
    const groups = await waitUntil(async () => {
      const g = await am.client.groups({ filter: ['test="group"'] });
      return g.reduce((n, x) => n + x.alerts.length, 0) === 3 && g;
    }, { timeoutMs: 10_000, what: 'three alerts in groups' });
    const shape = groups.map((g) => ({ labels: g.labels, receiver: g.receiver.name, targets: g.alerts.map((a) => a.labels.target).sort() }));
    expect(shape.sort((a, b) => a.labels.model_version!.localeCompare(b.labels.model_version!))).toEqual([
      { labels: { alertname: 'drift-psi', model_version: 'v1' }, receiver: 'team', targets: ['v1 f1'] },
      { labels: { alertname: 'drift-psi', model_version: 'v2' }, receiver: 'team', targets: ['v2 f1', 'v2 f7'] },
    ]);
  });

  it('a critical alert inhibits the warnings on its replica only, and releases them when it resolves', async () => {
    const critical = alert({ alertname: 'replica-heartbeat-missing', severity: 'critical', replica: 'replica-3', test: 'inhibit' });
    await am.client.postAlerts([
      critical,
      alert({ alertname: 'cpu-saturation', severity: 'warning', replica: 'replica-3', test: 'inhibit' }),
      alert({ alertname: 'event-loop-saturation', severity: 'warning', replica: 'replica-2', test: 'inhibit' }),
    ]);
    const seen = await waitUntil(async () => {
      const m = await byName(['test="inhibit"']);
      return m.get('cpu-saturation/replica-3')?.status.state === 'suppressed' && m;
    }, { timeoutMs: 10_000, what: 'cpu-saturation on replica-3 inhibited' });
    const source = seen.get('replica-heartbeat-missing/replica-3')!;
    expect(source.status).toEqual({ state: 'active', silencedBy: [], inhibitedBy: [] });
    expect(seen.get('cpu-saturation/replica-3')!.status).toEqual({ state: 'suppressed', silencedBy: [], inhibitedBy: [source.fingerprint] });
    expect(seen.get('event-loop-saturation/replica-2')!.status.state).toBe('active');

    await am.client.postAlerts([{ ...critical, endsAt: new Date().toISOString() }]);
    const after = await waitUntil(async () => {
      const m = await byName(['test="inhibit"']);
      return m.get('cpu-saturation/replica-3')?.status.state === 'active' && m;
    }, { timeoutMs: 10_000, what: 'cpu-saturation released' });
    expect([...after.keys()].sort()).toEqual(['cpu-saturation/replica-3', 'event-loop-saturation/replica-2']);
  });

  it('traffic-flatline inhibits the heartbeat and underuse rules it makes meaningless, not the others', async () => {
    await am.client.postAlerts([
      alert({ alertname: 'traffic-flatline', severity: 'critical', test: 'flatline' }),
      alert({ alertname: 'replica-heartbeat-missing', severity: 'critical', replica: 'replica-1', test: 'flatline' }),
      alert({ alertname: 'replica-underuse', severity: 'info', replica: 'replica-2', test: 'flatline' }),
      alert({ alertname: 'model-accuracy-low', severity: 'critical', model_version: 'v2', test: 'flatline' }),
    ]);
    const seen = await waitUntil(async () => {
      const m = await byName(['test="flatline"']);
      return m.get('replica-heartbeat-missing/replica-1')?.status.state === 'suppressed' && m.get('replica-underuse/replica-2')?.status.state === 'suppressed' && m;
    }, { timeoutMs: 10_000, what: 'heartbeat and underuse inhibited' });
    const flatline = seen.get('traffic-flatline/')!.fingerprint;
    expect(seen.get('replica-heartbeat-missing/replica-1')!.status.inhibitedBy).toEqual([flatline]);
    expect(seen.get('model-accuracy-low/v2')!.status.state).toBe('active');
  });
});
