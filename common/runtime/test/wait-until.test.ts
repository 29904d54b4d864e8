import { describe, expect, it } from 'vitest';
import { waitUntil } from '../src/index.js';

describe('waitUntil', () => {
  it('polls until the check gives a value and returns that value, a falsy one such as 0 included', async () => {
    let calls = 0;
    const value = await waitUntil(() => (++calls < 3 ? undefined : 0), { timeoutMs: 5_000, intervalMs: 10 });
    expect(value).toBe(0);
    expect(calls).toBe(3);
    expect(await waitUntil(() => ({ ready: true }), { timeoutMs: 1_000 })).toEqual({ ready: true });
  });

  it('takes false and a throwing or rejecting check as "not yet"', async () => {
    let calls = 0;
    const value = await waitUntil(
      async () => {
        calls += 1;
        if (calls === 1) return false;
        if (calls === 2) throw new Error('ECONNREFUSED');
        if (calls === 3) return Promise.reject(new Error('still starting'));
        return 'up';
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    expect(value).toBe('up');
    expect(calls).toBe(4);
  });

  it('times out after timeoutMs, naming what it waited for and quoting the last error', async () => {
    let calls = 0;
    const started = Date.now();
    const failed = await waitUntil(
      () => {
        calls += 1;
        throw new Error(`refused #${calls}`);
      },
      { timeoutMs: 300, intervalMs: 20, what: 'replica-1 ready' },
    ).catch((err: Error) => err);
    const waited = Date.now() - started;
    expect(calls).toBeGreaterThan(1);
    expect(failed.message).toBe(`replica-1 ready not met within 0.3 s (last error: refused #${calls})`);
    expect(waited).toBeGreaterThanOrEqual(300);
    expect(waited).toBeLessThan(2_000);
  });

  it('ends early with the reason abortIf gives, long before the timeout', async () => {
    let exited = false;
    setTimeout(() => (exited = true), 50);
    const started = Date.now();
    await expect(
      waitUntil(() => false, { timeoutMs: 10_000, intervalMs: 10, what: 'nginx', abortIf: () => (exited ? 'exited with code 1' : undefined) }),
    ).rejects.toThrow(/^nginx: exited with code 1$/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
