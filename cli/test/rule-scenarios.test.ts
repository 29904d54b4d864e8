/**
 * The alert rules against the full local stack: each `mlmon simulate`
 * scenario fires its rule within two schedule intervals of its data being
 * indexed, and steady traffic fires nothing but (possibly) the scale-in
 * suggestion. Slow (about 15 minutes: five of them steady traffic); needs
 * nginx and the analyzer in the stack for the model scenarios (drift,
 * bad-model), which read the analyzer's metric documents.
 *
 * The runner runs every rule each RULES_INTERVAL (5 s) instead of its own
 * interval, so "two intervals" is 10 s after the shipper indexed the data; the
 * rules' windows are unchanged.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEcsLine, type AlertEvent } from '@mlmon/contract';
import { testCluster } from '@mlmon/es-local/testing';
import { freePortBlock } from '@mlmon/runtime';
import { REPO_ROOT, runPaths, serviceEntry } from '../src/stack/paths.js';
import { isAlive, readStackFile, type StackFile } from '../src/stack/stack-file.js';

const cluster = testCluster();
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-rules-stack-')), 'run'));
const env = { ...process.env, MLMON_RUN_DIR: paths.runDir, ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix, RULES_INTERVAL: '5s' };
let stack: StackFile;

function mlmon(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [serviceEntry('cli'), ...args], { cwd: REPO_ROOT, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

function alerts(): AlertEvent[] {
  const file = path.join(paths.logs, 'rule-runner.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => parseEcsLine(l))
    .filter((e): e is AlertEvent => e.event.dataset === 'mlmon.alert');
}
const firedSince = (t: number) => alerts().filter((a) => Date.parse(a['@timestamp']) >= t);
const rulesSince = (t: number) => new Set(firedSince(t).map((a) => a.mlmon.alert.rule));

beforeAll(async () => {
  const up = await mlmon('up', '--replicas', '3', '--port', String(await freePortBlock(11)), '--replica-port', String(await freePortBlock(8)));
  expect(up.code, up.out).toBe(0);
  stack = readStackFile(paths)!;
}, 180_000);

afterAll(async () => {
  if (stack && isAlive(stack.supervisorPid)) await mlmon('down');
  await cluster.cleanup();
}, 60_000);

// The shipper indexes within a second or two; two rule intervals after that is the deadline.
const DEADLINE_MS = 2 * 5_000 + 5_000;

describe('simulate scenarios fire their rules', () => {
  it('steady traffic for five minutes fires no rule but the scale-in suggestion', async () => {
    const start = Date.now();
    const r = await mlmon('simulate', 'steady', '--duration', '300', '--rate', '50');
    expect(r.code, r.out).toBe(0);
    await new Promise((res) => setTimeout(res, DEADLINE_MS));
    expect([...rulesSince(start)].filter((id) => id !== 'replica-underuse')).toEqual([]);
  }, 400_000);

  it('spike: every replica above its share fires replica-overload', async () => {
    const start = Date.now();
    // 60/s, then 5x (300/s: 100/s per replica, twice the scale-out point) for a minute, then 60/s.
    const r = await mlmon('simulate', 'spike', '--duration', '180', '--rate', '60', '--factor', '5');
    expect(r.code, r.out).toBe(0);
    await expect.poll(() => rulesSince(start).has('replica-overload'), { timeout: DEADLINE_MS, interval: 1000 }).toBe(true);
  }, 300_000);

  it('drift: shifted features fire a drift rule (needs the analyzer)', async () => {
    const start = Date.now();
    const r = await mlmon('simulate', 'drift', '--duration', '120', '--rate', '50');
    expect(r.code, r.out).toBe(0);
    await expect.poll(() => ['drift-share', 'drift-psi', 'data-quality-out-of-range'].some((id) => rulesSince(start).has(id)), { timeout: 120_000, interval: 2000 }).toBe(true);
  }, 300_000);

  it('bad-model: a broken canary fires prediction-avg-high or canary-worse (needs the analyzer)', async () => {
    const start = Date.now();
    const r = await mlmon('simulate', 'bad-model', '--duration', '120', '--rate', '50', '--feedback', '1', '--feedback-delay', '1');
    expect(r.code, r.out).toBe(0);
    await expect.poll(() => ['prediction-avg-high', 'canary-worse'].some((id) => rulesSince(start).has(id)), { timeout: 120_000, interval: 2000 }).toBe(true);
    const rollback = firedSince(start).find((a) => a.mlmon.alert.rule === 'canary-worse');
    if (rollback) expect(rollback.mlmon.alert.target).toBe('broken');
  }, 300_000);

  it('replica-crash: nginx replays on the other replicas (no 5xx alert) and the supervisor restarts it before a heartbeat is missed', async () => {
    const start = Date.now();
    const r = await mlmon('simulate', 'replica-crash', '--duration', '60', '--rate', '50');
    expect(r.code, r.out).toBe(0);
    await new Promise((res) => setTimeout(res, 70_000 + DEADLINE_MS));
    const fired = rulesSince(start);
    expect(fired.has('http-5xx-rate')).toBe(false);
    // The restart rule fires only for a replica that stays silent for a minute; the local supervisor brings it back in seconds.
    expect(fired.has('replica-heartbeat-missing')).toBe(false);
  }, 300_000);
});
