import { describe, expect, it } from 'vitest';
import { waitUntil } from '@mlmon/runtime';
import { BoundedQueue } from '../src/shadow/queue.js';

/** A job the test settles when it wants: what a shadow that hangs, or answers late, looks like to the queue. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const offer = <J>(q: BoundedQueue<J>, job: J) => {
  if (!q.reserve()) return false;
  q.submit(job);
  return true;
};

describe('the bounded queue of shadow copies', () => {
  it('runs every job it accepts, off the turn that queued it', async () => {
    const ran: number[] = [];
    const q = new BoundedQueue<number>({ capacity: 10, concurrency: 4, timeoutMs: 5000, run: async (n) => void ran.push(n) });
    for (let i = 0; i < 10; i++) expect(offer(q, i)).toBe(true);
    // Nothing ran in the turn that queued them: the caller's answer goes first.
    expect(ran).toEqual([]);
    await waitUntil(() => q.counters().completed === 10, { timeoutMs: 5000, what: 'ten jobs' });
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(q.counters()).toEqual({ queue_depth: 0, dropped: 0, errors: 0, timeouts: 0, completed: 10 });
  });

  it('drops and counts a job that finds no free slot, and takes jobs again once slots free', async () => {
    const hang = deferred();
    const q = new BoundedQueue<number>({ capacity: 3, concurrency: 2, timeoutMs: 60_000, run: () => hang.promise });
    expect([offer(q, 1), offer(q, 2), offer(q, 3), offer(q, 4), offer(q, 5)]).toEqual([true, true, true, false, false]);
    await waitUntil(() => q.counters().queue_depth === 3, { timeoutMs: 5000, what: 'two running, one waiting' });
    expect(q.counters()).toMatchObject({ queue_depth: 3, dropped: 2 });
    hang.resolve();
    await waitUntil(() => q.counters().completed === 3, { timeoutMs: 5000, what: 'the three jobs' });
    expect(offer(q, 6)).toBe(true);
    await waitUntil(() => q.counters().completed === 4, { timeoutMs: 5000, what: 'the next job' });
    expect(q.counters()).toEqual({ queue_depth: 0, dropped: 2, errors: 0, timeouts: 0, completed: 4 });
  });

  it('gives up a job past the timeout, tells it through its signal, and keeps its slot until it settles', async () => {
    const hang = deferred();
    const signals: AbortSignal[] = [];
    const q = new BoundedQueue<number>({
      capacity: 2,
      concurrency: 2,
      timeoutMs: 50,
      run: (_n, signal) => {
        signals.push(signal);
        return hang.promise;
      },
    });
    expect([offer(q, 1), offer(q, 2)]).toEqual([true, true]);
    await waitUntil(() => q.counters().timeouts === 2, { timeoutMs: 5000, what: 'both jobs timing out' });
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    // Timed out, not running, but the hung jobs still hold what they were given: no room yet.
    expect(q.counters()).toMatchObject({ queue_depth: 0, completed: 0 });
    expect(offer(q, 3)).toBe(false);
    hang.resolve();
    await hang.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(offer(q, 4)).toBe(true);
    await waitUntil(() => q.counters().completed === 1, { timeoutMs: 5000, what: 'the next job' });
    // A job that settles after its timeout counts as a timeout only, never as completed too.
    expect(q.counters()).toEqual({ queue_depth: 0, dropped: 1, errors: 0, timeouts: 2, completed: 1 });
  });

  it('counts a job that throws, at once or later, as an error and tells onError', async () => {
    const seen: string[] = [];
    const q = new BoundedQueue<number>({
      capacity: 5,
      concurrency: 5,
      timeoutMs: 5000,
      run: (n) => {
        if (n === 1) throw new Error('at once');
        return n === 2 ? Promise.reject(new Error('later')) : Promise.resolve();
      },
      onError: (err) => seen.push(err.message),
    });
    for (const n of [1, 2, 3]) offer(q, n);
    await waitUntil(() => q.counters().errors + q.counters().completed === 3, { timeoutMs: 5000, what: 'three jobs' });
    expect(q.counters()).toEqual({ queue_depth: 0, dropped: 0, errors: 2, timeouts: 0, completed: 1 });
    expect(seen.sort()).toEqual(['at once', 'later']);
  });

  it('gives a reserved slot back when the caller releases it unused', () => {
    const q = new BoundedQueue<number>({ capacity: 1, concurrency: 1, timeoutMs: 5000, run: async () => {} });
    expect(q.reserve()).toBe(true);
    expect(q.reserve()).toBe(false);
    q.release();
    expect(q.reserve()).toBe(true);
    expect(q.counters()).toMatchObject({ dropped: 1, queue_depth: 0 });
  });
});
