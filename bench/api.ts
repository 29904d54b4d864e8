/**
 * What per-prediction logging costs one replica: autocannon against a replica
 * with LOG_PREDICTIONS=false, then =true, alternating for several rounds in one
 * run so both see the same machine state; medians and the on/off ratio.
 *
 * Besides req/s it reports the replica's CPU (all its threads, from /proc) per
 * 1,000 predictions: the replica formats and appends its lines on a writer
 * thread, so logging costs CPU on the core its event loop leaves idle even
 * where it costs no throughput.
 *
 *   npm run bench:api                      # 3 rounds of 10 s per mode
 *   BENCH_ROUNDS=5 BENCH_SECONDS=20 npm run bench:api
 */
import autocannon from 'autocannon';
import { median } from 'simple-statistics';
import { holdout, startReplicaProcess } from '@mlmon/api/testing';
import { cpuSeconds } from './proc-cpu.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const body = JSON.stringify({ features: holdout.rows[0]!.features });

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Replica CPU seconds per 1,000 answered predictions. */
  cpuPer1k: number;
  non2xx: number;
}

async function measure(logging: boolean): Promise<Sample> {
  const replica = await startReplicaProcess({ REPLICA_ID: `bench-${logging ? 'on' : 'off'}`, LOG_PREDICTIONS: String(logging) });
  try {
    const opts = { url: `${replica.url}/v1/predict`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body, connections };
    await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, ONNX session, sockets
    const cpu0 = cpuSeconds(replica.child.pid!);
    const r = await autocannon({ ...opts, duration: seconds });
    const cpuPer1k = ((cpuSeconds(replica.child.pid!) - cpu0) / r.requests.total) * 1000;
    return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuPer1k, non2xx: r.non2xx + r.errors };
  } finally {
    replica.child.kill('SIGTERM');
    await replica.exited;
  }
}

const samples: Record<'off' | 'on', Sample[]> = { off: [], on: [] };
for (let i = 1; i <= rounds; i++) {
  for (const mode of ['off', 'on'] as const) {
    const s = await measure(mode === 'on');
    samples[mode].push(s);
    console.log(
      `round ${i}/${rounds} logging ${mode.padEnd(3)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  CPU ${s.cpuPer1k.toFixed(2)} s/1k  errors ${s.non2xx}`,
    );
  }
}

const med = (mode: 'off' | 'on', k: keyof Sample) => median(samples[mode].map((s) => s[k]));
console.log(`\nmedians over ${rounds} rounds of ${seconds} s, ${connections} connections, one replica:`);
console.log('| logging | req/s | p50 ms | p99 ms | replica CPU s per 1k predictions |');
console.log('|---|---|---|---|---|');
for (const mode of ['off', 'on'] as const) {
  console.log(`| ${mode} | ${med(mode, 'rps').toFixed(0)} | ${med(mode, 'p50')} | ${med(mode, 'p99')} | ${med(mode, 'cpuPer1k').toFixed(2)} |`);
}
const ratio = med('on', 'rps') / med('off', 'rps');
console.log(`\nratio logging on / off (req/s): ${ratio.toFixed(3)}  (target >= 0.9)`);
console.log(`ratio logging on / off (replica CPU per prediction): ${(med('on', 'cpuPer1k') / med('off', 'cpuPer1k')).toFixed(3)}`);
if ([...samples.on, ...samples.off].some((s) => s.non2xx > 0)) {
  console.error('some requests failed: the figures above are not clean');
  process.exitCode = 1;
}
