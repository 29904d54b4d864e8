import { describe, expect, it } from 'vitest';
import { executed, expectLoop, mlmon, useLoopStack, watchConditions } from './support.js';

useLoopStack();

describe('the closed loop under a traffic spike', () => {
  it('spike: replicas go up while it lasts and back down after, never outside 2..3', async () => {
    const since = new Date();
    const conditions = watchConditions();
    // 15 s at 20/s, 15 s at 100/s, 15 s at 20/s: at 50/s per replica the overload rule's 20 s window
    // crosses 400 five seconds into the spike, leaving it ten more to scale out while it lasts.
    const run = await mlmon('simulate', 'spike', '--rate', '20', '--factor', '5', '--duration', '45', '--feedback', '0');
    expect(run.code, run.out).toBe(0);
    const out = await expectLoop(since, 'scale_out', 30_000, conditions);
    expect(out.mlmon.remediation.replicas).toEqual({ before: 2, after: 3 });
    // Back down once traffic is low again and the flap window has passed.
    const quiet = mlmon('simulate', 'steady', '--rate', '4', '--duration', '30', '--feedback', '0');
    // The scale-in suggestion fires whenever traffic is low (refused at the minimum): no single moment to time it from.
    const back = await expectLoop(since, 'scale_in', 90_000);
    expect(back.mlmon.remediation.replicas).toEqual({ before: 3, after: 2 });
    expect((await quiet).code).toBe(0);
    for (const d of [...(await executed(since, 'scale_out')), ...(await executed(since, 'scale_in'))]) {
      expect(d.mlmon.remediation.replicas!.after).toBeGreaterThanOrEqual(2);
      expect(d.mlmon.remediation.replicas!.after).toBeLessThanOrEqual(3);
    }
  }, 240_000);
});
