import { describe, expect, it } from 'vitest';
import { loadConfig, waitUntil } from '@mlmon/runtime';
import { testConfigShape } from '@mlmon/runtime/testing';
import { alertsSince, expectLoop, hostCpu, mlmon, replica, replicaCount, search, seenByEveryRule, useLoopStack, watchConditions } from './support.js';

// Five minutes, as issue 10 states it, with MLMON_TEST_LOOP_STEADY=5m; CI runs a shorter steady phase to stay in its time budget.
// 40 s at 30/s is 1,200 predictions: enough for the drift rules' minimum count (1,000), so they judge it too.
const STEADY_S = loadConfig({ MLMON_TEST_LOOP_STEADY: testConfigShape.MLMON_TEST_LOOP_STEADY }).MLMON_TEST_LOOP_STEADY / 1000;

useLoopStack();

// Steady first, on a stack nothing has happened to yet; then the replica faults, the crash before the hang,
// so that the hung replica's alerts are not in the window where the crash must raise none.
describe('the closed loop on steady traffic and failing replicas', () => {
  it('steady traffic fires no rule but, at most, the scale-in suggestion (refused at the minimum)', async () => {
    const since = new Date();
    const run = await mlmon('simulate', 'steady', '--rate', '30', '--duration', String(STEADY_S), '--feedback', '0.3', '--feedback-delay', '1');
    expect(run.code, run.out).toBe(0);
    await seenByEveryRule();
    const fired = new Set((await alertsSince(since)).map((a) => a.mlmon.alert.rule));
    fired.delete('replica-underuse');
    // A replica's event loop also waits when the host's cores are busy with other work, as in CI,
    // where other test files run beside this one: the warning is true then, and only then allowed.
    if (fired.delete('event-loop-saturation')) {
      const host = await hostCpu(since);
      expect(host.median, `event-loop-saturation fired on a host whose CPU was not saturated: ${JSON.stringify(host)}`).toBeGreaterThanOrEqual(85);
    }
    expect([...fired]).toEqual([]);
    expect(await replicaCount()).toBe(2);
  }, 240_000 + STEADY_S * 1000);

  it('replica-crash: kill -9 of a replica loses no request, the supervisor restarts it, and no rule fires', async () => {
    const before = (await replica('replica-2'))!.pid;
    const since = new Date();
    const run = await mlmon('simulate', 'replica-crash', '--replica', 'replica-2', '--rate', '30', '--duration', '15', '--feedback', '0');
    // simulate exits 2 when any request was not answered 200.
    expect(run.code, run.out).toBe(0);
    // Restarted: a new process, not the killed one (nor none, while it restarts).
    await expect.poll(async () => (await replica('replica-2'))?.pid, { timeout: 20_000 }).toSatisfy((p) => typeof p === 'number' && p !== before);
    const pid = (await replica('replica-2'))!.pid;
    // The new process's heartbeat is indexed: from then on the heartbeat rule cannot miss replica-2, so
    // once every rule has run past that, any alert the crash would raise has been raised.
    await waitUntil(async () => (await search('mlmon.resource', since, [{ term: { 'service.node.name': 'replica-2' } }, { term: { 'process.pid': pid } }], 'resources')).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: `a resource sample of the restarted replica-2 (pid ${pid})`,
    });
    await seenByEveryRule();
    const fired = new Set((await alertsSince(since)).map((a) => a.mlmon.alert.rule));
    fired.delete('replica-underuse');
    expect([...fired]).toEqual([]);
  }, 120_000);

  // A replica scaled in on purpose stops its heartbeats too, and while it is within the rule's lookback
  // the rule reports it (the remediator refuses: unknown replica): no scaling on this stack.
  it('a hung replica (SIGSTOP: the supervisor still sees a live process) is restarted', async () => {
    const victim = (await replica('replica-1'))!;
    const since = new Date();
    const conditions = watchConditions();
    process.kill(victim.pid!, 'SIGSTOP');
    try {
      const done = await expectLoop(since, 'restart', 60_000, conditions);
      expect(done.mlmon.remediation.target).toBe('replica-1');
      await expect.poll(async () => (await replica('replica-1'))?.pid, { timeout: 20_000 }).not.toBe(victim.pid);
    } finally {
      // Harmless if it was replaced; lets it go if it was not.
      try {
        process.kill(victim.pid!, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }, 120_000);
});
