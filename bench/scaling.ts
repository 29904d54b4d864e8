/**
 * Horizontal scaling on this machine: autocannon through nginx (the project's
 * config, as `mlmon up` renders it) to 1, 2 and 3 replicas, logging on. The
 * replica counts take turns for several rounds so all see the same machine;
 * medians. CPU is split by process (nginx, replicas) to show what limits the
 * figures here.
 *
 *   npm run bench:scaling
 *   MLMON_BENCH_ROUNDS=5 MLMON_BENCH_DURATION=20s MLMON_BENCH_CONNECTIONS=64 npm run bench:scaling
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { median } from 'simple-statistics';
import { holdout, startReplicaProcess, tempDir } from '@mlmon/api/testing';
import { ensureNginx, LocalNginx } from '@mlmon/nginx';
import { freePort, waitUntil } from '@mlmon/runtime';
import { cpuSeconds } from './proc-cpu.js';
import { benchConfig } from './settings.js';

const settings = benchConfig();
const rounds = settings.MLMON_BENCH_ROUNDS;
const seconds = settings.MLMON_BENCH_DURATION / 1000;
const connections = settings.MLMON_BENCH_CONNECTIONS ?? 32;
const COUNTS = [1, 2, 3];
const body = JSON.stringify({ features: holdout.rows[0]!.features });

const dir = tempDir('bench-scaling');
const replicas = await Promise.all(COUNTS.map((i) => startReplicaProcess({ MLMON_API_REPLICA_ID: `replica-${i}`, MLMON_LOG_DIR: path.join(dir, 'logs') })));
const port = await freePort();
const nginx = new LocalNginx(ensureNginx(), {
  listen: `127.0.0.1:${port}`,
  statusPort: await freePort(),
  bodyLimitBytes: 128 * 1024,
  logDir: path.join(dir, 'logs'),
  runDir: path.join(dir, 'run'),
  workerProcesses: 'auto',
});
const url = `http://127.0.0.1:${port}`;

/** nginx's master and its workers: the workers serve, and `ps` finds them by parent. */
const nginxPids = () => [nginx.pid!, ...execFileSync('ps', ['-o', 'pid=', '--ppid', String(nginx.pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)];
const cpuOf = (pids: number[]) => pids.reduce((s, pid) => s + cpuSeconds(pid), 0);

interface Sample {
  rps: number;
  p99: number;
  /** Cores busy during the run. */
  nginx: number;
  replicas: number;
  failed: number;
}

async function measure(count: number, duration: number): Promise<Sample> {
  const pids = replicas.slice(0, count).map((r) => r.child.pid!);
  const n0 = cpuOf(nginxPids());
  const r0 = cpuOf(pids);
  const r = await autocannon({ url: `${url}/v1/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration });
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    nginx: (cpuOf(nginxPids()) - n0) / r.duration,
    replicas: (cpuOf(pids) - r0) / r.duration,
    failed: r.non2xx + r.errors + r.timeouts,
  };
}

async function serve(count: number): Promise<void> {
  await nginx.stop();
  nginx.start(replicas.slice(0, count).map((r) => new URL(r.url).host));
  await waitUntil(() => fetch(`${url}/readyz`).then((res) => res.ok, () => false), { timeoutMs: 10_000, what: 'nginx answering' });
}

const samples = new Map<number, Sample[]>(COUNTS.map((n) => [n, []]));
try {
  for (let i = 1; i <= rounds; i++) {
    for (const count of COUNTS) {
      await serve(count);
      await measure(count, 2); // warm-up: nginx's upstream keepalive connections, the replicas' JIT
      const s = await measure(count, seconds);
      samples.get(count)!.push(s);
      console.log(
        `round ${i}/${rounds} ${count} replica(s) ${s.rps.toFixed(0).padStart(6)} req/s  p99 ${s.p99} ms  cores busy: nginx ${s.nginx.toFixed(2)}, replicas ${s.replicas.toFixed(2)}  failed ${s.failed}`,
      );
    }
  }
} finally {
  await nginx.stop();
  await Promise.all(
    replicas.map((r) => {
      r.child.kill('SIGTERM');
      return r.exited;
    }),
  );
}

console.log(`\nmedians over ${rounds} rounds of ${seconds} s, ${connections} connections through nginx (worker_processes auto), logging on, ${os.cpus().length} cores shared with autocannon:`);
console.log('| replicas | req/s | p99 ms | cores busy: nginx | replicas | req/s per replica core |');
console.log('|---|---|---|---|---|---|');
for (const [count, s] of samples) {
  const m = (k: keyof Sample) => median(s.map((x) => x[k]));
  console.log(`| ${count} | ${m('rps').toFixed(0)} | ${m('p99')} | ${m('nginx').toFixed(2)} | ${m('replicas').toFixed(2)} | ${(m('rps') / m('replicas')).toFixed(0)} |`);
}
const scale = (n: number) => median(samples.get(n)!.map((s) => s.rps)) / median(samples.get(1)!.map((s) => s.rps));
console.log(`\nratio 2 replicas / 1 (req/s): ${scale(2).toFixed(2)}; 3 replicas / 1: ${scale(3).toFixed(2)}`);
if ([...samples.values()].flat().some((s) => s.failed > 0)) {
  console.error('some requests failed: the figures above are not clean');
  process.exitCode = 1;
}
