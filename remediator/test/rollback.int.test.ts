import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN, startReplicaProcess, type ReplicaProcess } from '@mlmon/api/testing';
import { alert, events, hook, remediatorFor, tempDir } from './support.js';

/**
 * Rollback through the replicas' admin API, on two real replica processes that
 * share one model state file: the remediator talks to one, the other must follow.
 */
const stateFile = path.join(tempDir('model-state'), 'model-state.json');
let a: ReplicaProcess;
let b: ReplicaProcess;
let r: Awaited<ReturnType<typeof remediatorFor>>;

const admin = (method: string, p: string, body: unknown) =>
  fetch(`${a.url}${p}`, { method, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const servingOf = async (replica: ReplicaProcess) =>
  (await (await fetch(`${replica.url}/v1/models`)).json()) as { active: string; canary: { version: string; weight: number } | null };

beforeAll(async () => {
  [a, b] = await Promise.all([startReplicaProcess({ MLMON_API_MODEL_STATE_FILE: stateFile, MLMON_API_REPLICA_ID: 'replica-a' }), startReplicaProcess({ MLMON_API_MODEL_STATE_FILE: stateFile, MLMON_API_REPLICA_ID: 'replica-b' })]);
  r = await remediatorFor({ MLMON_API_URL: a.url, MLMON_API_ADMIN_TOKEN: TEST_ADMIN_TOKEN, MLMON_REMEDIATOR_COOLDOWN: '0s' });
}, 60_000);
afterAll(async () => {
  await r.close();
  for (const p of [a, b]) {
    p.child.kill('SIGTERM');
    await p.exited;
  }
});

describe('rollback on real replicas', () => {
  it('removes a canary that alerts (weight 0), on every replica', async () => {
    expect((await admin('PUT', '/admin/models/canary', { version: 'broken', weight: 20 })).status).toBe(200);
    await expect.poll(async () => (await servingOf(b)).canary?.version, { timeout: 5000 }).toBe('broken');
    const res = await hook(r.url, 'rollback', alert({ watch_id: 'canary-accuracy', target: 'canary' }));
    expect(res.body).toMatchObject({ decision: 'executed', target: 'broken', version: { before: 'broken' } });
    expect((await servingOf(a)).canary).toBeNull();
    await expect.poll(async () => (await servingOf(b)).canary, { timeout: 5000 }).toBeNull();
    // The canary is gone: another alert about it has nothing to remove.
    expect((await hook(r.url, 'rollback', alert({ target: 'canary' }))).body).toMatchObject({ decision: 'refused', reason: 'no_canary' });
  });

  it('replaces an active version that alerts by the previous good one from the history', async () => {
    expect((await admin('PUT', '/admin/models/active', { version: 'v2' })).status).toBe(200);
    expect((await admin('PUT', '/admin/models/active', { version: 'broken' })).status).toBe(200);
    const once = alert({ watch_id: 'active-accuracy', target: 'broken' });
    const res = await hook(r.url, 'rollback', once);
    expect(res.body).toMatchObject({ decision: 'executed', target: 'broken', version: { before: 'broken', after: 'v2' } });
    await expect.poll(async () => (await servingOf(b)).active, { timeout: 5000 }).toBe('v2');
    // The same execution again is a duplicate; a new alert about broken finds it no longer serving.
    expect((await hook(r.url, 'rollback', once)).body.decision).toBe('duplicate');
    expect((await hook(r.url, 'rollback', alert({ target: 'broken' }))).body).toMatchObject({ decision: 'refused', reason: 'not_serving' });
    // v2 alerts in turn: back to v1, never to broken (it was rolled back).
    expect((await hook(r.url, 'rollback', alert({ target: 'active' }))).body).toMatchObject({ decision: 'executed', version: { before: 'v2', after: 'v1' } });
    expect((await hook(r.url, 'rollback', alert({ target: 'active' }))).body).toMatchObject({ decision: 'refused', reason: 'no_previous_version' });
    expect((await servingOf(a)).active).toBe('v1');
    const trail = events(r.logDir, 'mlmon.remediation').filter((e) => e.mlmon.remediation.execution_id === once.execution_id);
    expect(trail.map((e) => [e.mlmon.remediation.decision, e.event.outcome])).toEqual([
      ['executed', 'success'],
      ['duplicate', 'unknown'],
    ]);
  });

  it('in dry run, says which version it would go back to and changes nothing', async () => {
    const dry = await remediatorFor({ MLMON_API_URL: b.url, MLMON_API_ADMIN_TOKEN: TEST_ADMIN_TOKEN, MLMON_REMEDIATOR_DRY_RUN: 'true' });
    try {
      expect((await admin('PUT', '/admin/models/active', { version: 'v2' })).status).toBe(200);
      await expect.poll(async () => (await servingOf(b)).active, { timeout: 5000 }).toBe('v2');
      const res = await hook(dry.url, 'rollback', alert({ target: 'v2' }));
      expect(res.body).toMatchObject({ decision: 'dry_run', version: { before: 'v2', after: 'v1' } });
      expect((await servingOf(a)).active).toBe('v2');
    } finally {
      await dry.close();
    }
  });
});
