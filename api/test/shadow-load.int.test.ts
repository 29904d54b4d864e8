import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import autocannon from 'autocannon';
import { median, quantile } from 'simple-statistics';
import { waitUntil } from '@mlmon/runtime';
import { TEST_ADMIN_TOKEN, holdout, ofDataset, readEvents, startReplicaProcess, type ReplicaProcess } from './support.js';

/**
 * `broken` as the shadow of a real replica process under load, against the
 * same replica without a shadow, in alternating phases at one fixed rate on
 * 127.0.0.1: the clients' errors, answers and latency percentiles. The cost of
 * a shadow is measured by `npm run bench:api`; this shows it changes nothing
 * a client can see, with a bound generous enough for a shared 2-core machine.
 */

const RATE = 150;
const PHASE_S = 4;
const ROUNDS = 3;
const ROWS = holdout.rows.slice(0, 50);

let replica: ReplicaProcess;
beforeAll(async () => {
  replica = await startReplicaProcess({ MLMON_API_REPLICA_ID: 'shadow-load', MLMON_API_RESOURCE_INTERVAL: '1s' });
});
afterAll(async () => {
  replica.child.kill('SIGTERM');
  await replica.exited;
});

async function setShadow(body: { version: string; sample: number }): Promise<void> {
  const res = await fetch(`${replica.url}/admin/models/shadow`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

interface Phase {
  latencies: number[];
  failed: number;
  /** Answers that are not v1's own answer to the row sent. */
  wrong: number;
  answered: number;
}

async function phase(): Promise<Phase> {
  const out: Phase = { latencies: [], failed: 0, wrong: 0, answered: 0 };
  let next = 0;
  const result = await autocannon({
    url: replica.url,
    connections: 8,
    overallRate: RATE,
    amount: RATE * PHASE_S,
    requests: [
      {
        method: 'POST',
        path: '/v1/predict',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req, context) => {
          const ctx = context as { row: number; at: number };
          ctx.row = next++ % ROWS.length;
          ctx.at = performance.now();
          return { ...req, body: JSON.stringify({ features: ROWS[ctx.row]!.features }) };
        },
        onResponse: (status, body, context) => {
          const ctx = context as { row: number; at: number };
          out.latencies.push(performance.now() - ctx.at);
          if (status !== 200) return void (out.failed += 1);
          out.answered += 1;
          const answer = JSON.parse(body) as { model: { version: string }; label: string };
          if (answer.model.version !== 'v1' || answer.label !== ROWS[ctx.row]!.expected.v1!.label) out.wrong += 1;
        },
      },
    ],
  });
  out.failed += result.errors + result.timeouts;
  return out;
}

describe('a broken shadow under load', () => {
  it('leaves the clients their answers, no errors and their latency', { timeout: 180_000 }, async () => {
    const off: Phase[] = [];
    const on: Phase[] = [];
    await phase(); // warm-up: JIT, sessions, sockets
    for (let i = 0; i < ROUNDS; i++) {
      // Alternating which goes first cancels a drift of the machine's speed within a round.
      for (const shadow of i % 2 ? [true, false] : [false, true]) {
        await setShadow(shadow ? { version: 'broken', sample: 1 } : { version: 'broken', sample: 0 });
        (shadow ? on : off).push(await phase());
      }
    }
    const p = (phases: Phase[], q: number) => median(phases.map((x) => quantile(x.latencies, q)));
    const figures = { p50_off: p(off, 0.5), p50_on: p(on, 0.5), p99_off: p(off, 0.99), p99_on: p(on, 0.99) };
    console.log(`clients at ${RATE} req/s, medians of ${ROUNDS} phases of ${PHASE_S} s (ms):`, figures);
    for (const x of [...off, ...on]) {
      expect(x).toMatchObject({ failed: 0, wrong: 0, answered: RATE * PHASE_S });
    }
    // Generous: the shadow doubles each request's model and logging work, off the latency path.
    expect(figures.p50_on).toBeLessThan(2 * figures.p50_off + 10);
    expect(figures.p99_on).toBeLessThan(2 * figures.p99_off + 25);

    // The shadow did run: broken's copies are in the log, paired, and (its labels being inverted) disagreeing.
    const events = await waitUntil(
      () => {
        const e = readEvents(replica.logDir);
        const shadow = ofDataset(e, 'mlmon.resource').at(-1)?.mlmon.resource.shadow;
        return shadow && shadow.queue_depth === 0 && shadow.completed + shadow.dropped >= RATE * PHASE_S * ROUNDS && e;
      },
      { timeoutMs: 20_000, what: "a resource sample after the last phase's copies" },
    );
    const copies = ofDataset(events, 'mlmon.prediction').filter((e) => e.mlmon.model.role === 'shadow');
    const counters = ofDataset(events, 'mlmon.resource').at(-1)!.mlmon.resource.shadow!;
    expect(counters).toMatchObject({ errors: 0, timeouts: 0 });
    expect(copies).toHaveLength(counters.completed);
    expect(copies.length).toBeGreaterThan(0.9 * RATE * PHASE_S * ROUNDS);
    expect(copies.every((c) => c.mlmon.model.version === 'broken' && c.mlmon.shadow!.active.version === 'v1')).toBe(true);
    expect(copies.filter((c) => !c.mlmon.shadow!.agree).length / copies.length).toBeGreaterThan(0.9);
  });
});
