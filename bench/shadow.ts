/**
 * What a shadow costs the active version (issue 23): one replica, its shadow
 * (v2 at sample 1.0: every request copied) switched on and off between
 * phases through the admin API, side by side in one run:
 *
 *   same rate     autocannon at a fixed rate (half the replica's maximum
 *                 without a shadow, measured first): the clients' p99 with the
 *                 shadow on over off (target <= 1.10);
 *   maximum       autocannon unbounded: requests per second with the shadow
 *                 on and off (the copies share the replica's one event loop).
 *
 * Phases alternate their order each round; the ratios are taken within a
 * round and the median over rounds reported, as in bench/api.ts.
 *
 *   npm run bench:shadow                   # also the last part of npm run bench:api
 */
import autocannon from 'autocannon';
import { median } from 'simple-statistics';
import { holdout, startReplicaProcess, tempDir, TEST_ADMIN_TOKEN } from '@mlmon/api/testing';
import { benchConfig } from './settings.js';

const settings = benchConfig();
const rounds = settings.MLMON_BENCH_ROUNDS;
const seconds = settings.MLMON_BENCH_DURATION / 1000;
const connections = settings.MLMON_BENCH_CONNECTIONS ?? 16;
const body = JSON.stringify({ features: holdout.rows[0]!.features });
const fmt = (n: number, digits = 0) => n.toFixed(digits);

const replica = await startReplicaProcess({ MLMON_API_REPLICA_ID: 'bench-shadow', MLMON_API_MODEL_STATE_FILE: `${tempDir('bench-shadow-state')}/state.json` });

async function setShadow(on: boolean): Promise<void> {
  const res = await fetch(`${replica.url}/admin/models/shadow`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ version: 'v2', sample: on ? 1 : 0 }),
  });
  if (!res.ok) throw new Error(`PUT /admin/models/shadow: HTTP ${res.status} ${await res.text()}`);
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function load(duration: number, rate?: number): Promise<Sample> {
  const r = await autocannon({
    url: `${replica.url}/v1/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
    ...(rate ? { overallRate: rate } : {}),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, failed: r.non2xx + r.errors + r.timeouts };
}

type Phase = 'rate off' | 'rate on' | 'max off' | 'max on';
const samples: Record<Phase, Sample[]> = { 'rate off': [], 'rate on': [], 'max off': [], 'max on': [] };
let rate = 0;
try {
  console.log('warming up (2 s with the shadow on, 2 s off), then the maximum without a shadow to fix the rate');
  await setShadow(true);
  await load(2);
  await setShadow(false);
  await load(2);
  rate = Math.max(10, Math.round((await load(seconds / 2)).rps / 2));
  console.log(`same-rate phases at ${rate} req/s`);
  for (let i = 1; i <= rounds; i++) {
    const order: Array<[boolean, boolean]> = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ];
    for (const [on, max] of i % 2 ? order : order.reverse()) {
      await setShadow(on);
      const s = await load(seconds, max ? undefined : rate);
      const phase = `${max ? 'max' : 'rate'} ${on ? 'on' : 'off'}` as Phase;
      samples[phase].push(s);
      console.log(`round ${i}/${rounds} ${phase.padEnd(8)} ${fmt(s.rps).padStart(6)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  failed ${s.failed}`);
    }
  }
} finally {
  replica.child.kill('SIGTERM');
  await replica.exited;
}

const med = (p: Phase, k: keyof Sample) => median(samples[p].map((s) => s[k]));
const ratio = (a: Phase, b: Phase, k: keyof Sample) => median(samples[a].map((s, i) => s[k] / samples[b][i]![k]));
console.log(`\nshadow v2 at sample 1.0 against none, medians over ${rounds} rounds of ${seconds} s, ${connections} connections:`);
console.log('| phase | req/s | p50 ms | p99 ms |');
console.log('|---|---|---|---|');
for (const p of Object.keys(samples) as Phase[]) console.log(`| ${p === 'rate off' || p === 'rate on' ? `${rate} req/s, shadow ${p.slice(5)}` : `maximum, shadow ${p.slice(4)}`} | ${fmt(med(p, 'rps'))} | ${med(p, 'p50')} | ${med(p, 'p99')} |`);
console.log(`ratio shadow on / off, p99 at ${rate} req/s: ${fmt(ratio('rate on', 'rate off', 'p99'), 3)}  (target <= 1.10)`);
console.log(`ratio shadow on / off, maximum req/s: ${fmt(ratio('max on', 'max off', 'rps'), 3)}`);
if (Object.values(samples).flat().some((s) => s.failed > 0)) {
  console.error('some requests failed: the figures above are not clean');
  process.exitCode = 1;
}
