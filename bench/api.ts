/**
 * One replica against its floor, side by side in one run:
 *
 *   bare Hono     bench/bare-hono.ts: the same server adapter, parsing the same
 *                 JSON body and answering a JSON object of the same size;
 *   bare + line   the same, also formatting the contract's prediction line
 *                 (with its 30 features) through the replica's event log,
 *                 whose file is /dev/null: what formatting and writing each
 *                 prediction's line costs, before any model runs or any disk;
 *   logging off   a replica with MLMON_API_LOG_PREDICTIONS=false;
 *   OOD off       a replica logging every prediction without its
 *                 out-of-distribution score (MLMON_API_OOD_SCORE=false);
 *   logging on    a replica as it runs in production (the OOD score on).
 *
 * autocannon loads each in turn for several rounds (the same connections and
 * body), so all five see the same machine; the tables show medians, the ratios
 * the median over rounds of each round's ratio. CPU is
 * read from /proc: the whole process and its main thread (the event loop, a
 * replica's bottleneck). Then batch requests (`instances` of 1, 8 and 64 rows)
 * in rows/s, and a CPU profile of a replica under the same load split by stage
 * (bench/cpu-profile.ts), in µs of main-thread CPU per prediction. The OOD
 * score's cost is also measured in short back-to-back pairs of the replicas
 * with it on and off, and alone in-process in CPU µs per row.
 *
 *   npm run bench:api                      # 3 rounds of 10 s each
 *   MLMON_BENCH_ROUNDS=5 MLMON_BENCH_DURATION=20s npm run bench:api
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { median } from 'simple-statistics';
import { holdout, loadOodScorer, MODEL_ARTIFACTS_DIR, startReplicaProcess, type ReplicaProcess } from '@mlmon/api/testing';
import { LOG_BASENAMES, logFile } from '@mlmon/contract';
import { STAGES, stageSplit } from './cpu-profile.js';
import { cpuSeconds, mainThreadCpuSeconds } from './proc-cpu.js';
import { benchConfig } from './settings.js';

const settings = benchConfig();
const rounds = settings.MLMON_BENCH_ROUNDS;
const seconds = settings.MLMON_BENCH_DURATION / 1000;
const connections = settings.MLMON_BENCH_CONNECTIONS ?? 16;
const BATCH_SIZES = [1, 8, 64];
const OOD_PAIRS = settings.MLMON_BENCH_OOD_PAIRS;
const OOD_PAIR_S = 5;

const bodyOf = (rows: number) =>
  rows === 0
    ? JSON.stringify({ features: holdout.rows[0]!.features })
    : JSON.stringify({ instances: Array.from({ length: rows }, (_, i) => holdout.rows[i % holdout.rows.length]!.features) });
const single = bodyOf(0);

interface Target {
  url: string;
  pid: number;
  stop(): Promise<unknown>;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request: the whole process, and its main thread. */
  cpu: number;
  mainCpu: number;
  failed: number;
}

async function load(target: Target, body: string, duration: number): Promise<Sample> {
  const cpu0 = cpuSeconds(target.pid);
  const main0 = mainThreadCpuSeconds(target.pid);
  const r = await autocannon({ url: `${target.url}/v1/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration });
  const per = (s: number) => (s / r.requests.total) * 1e6;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpu: per(cpuSeconds(target.pid) - cpu0),
    mainCpu: per(mainThreadCpuSeconds(target.pid) - main0),
    failed: r.non2xx + r.errors + r.timeouts,
  };
}

function replicaTarget(r: ReplicaProcess): Target {
  return {
    url: r.url,
    pid: r.child.pid!,
    stop: () => {
      r.child.kill('SIGTERM');
      return r.exited;
    },
  };
}

async function startBare(answer: string, logDir?: string): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./bare-hono.ts', import.meta.url).pathname, answer, ...(logDir ? [logDir] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error('bare Hono exited before listening')));
  });
  return {
    url,
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
const status = (msg: string) => console.log(msg);

// --- side by side: the floor, logging off, logging on ---------------------------------------

const off = replicaTarget(await startReplicaProcess({ MLMON_API_REPLICA_ID: 'bench-off', MLMON_API_LOG_PREDICTIONS: 'false' }));
const oodOff = replicaTarget(await startReplicaProcess({ MLMON_API_REPLICA_ID: 'bench-ood-off', MLMON_API_OOD_SCORE: 'false' }));
const onProcess = await startReplicaProcess({ MLMON_API_REPLICA_ID: 'bench-on', MLMON_API_LOG_PREDICTIONS: 'true' });
const on = replicaTarget(onProcess);
// The floor answers exactly what a replica answers to this body, so both send the same bytes back.
const answer = await (await fetch(`${on.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: single })).text();
// Comparing with the OOD score off means nothing if the served version has no reference.json to score with.
const firstLine = readFileSync(logFile(onProcess.logDir, LOG_BASENAMES.replica('bench-on')), 'utf8').split('\n').find((l) => l.includes('"mlmon.prediction"'));
if (!(JSON.parse(firstLine ?? '{}') as { mlmon?: { prediction?: { ood?: unknown } } }).mlmon?.prediction?.ood) {
  throw new Error('the replica logged no OOD score: the active version needs its reference.json (model/train.py writes it)');
}
const bareLogDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-bare-'));
// The floor makes a write call per request where a replica's lines share one per inference run; into
// a disk file that cost the floor more than the replica (1.17x in a 5-round run).
symlinkSync('/dev/null', logFile(bareLogDir, 'bare'));
const targets = {
  'bare Hono': await startBare(answer),
  'bare + line': await startBare(answer, bareLogDir),
  'logging off': off,
  'OOD off': oodOff,
  'logging on': on,
} as const;
type Mode = keyof typeof targets;
const samples: Record<Mode, Sample[]> = { 'bare Hono': [], 'bare + line': [], 'logging off': [], 'OOD off': [], 'logging on': [] };
const batches = new Map<number, Sample[]>(BATCH_SIZES.map((n) => [n, []]));
const oodPairs: Array<{ rps: number; cpu: number }> = [];

try {
  status(`warming up (2 s each): JIT, ONNX sessions, sockets`);
  for (const t of Object.values(targets)) await load(t, single, 2);
  for (let i = 1; i <= rounds; i++) {
    // Alternating the order cancels a slow drift of the machine's speed across a round.
    const order = Object.entries(targets) as Array<[Mode, Target]>;
    for (const [mode, target] of i % 2 ? order : order.reverse()) {
      const s = await load(target, single, seconds);
      samples[mode].push(s);
      status(
        `round ${i}/${rounds} ${mode.padEnd(11)} ${fmt(s.rps).padStart(6)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms  CPU ${fmt(s.cpu)} µs/req (main thread ${fmt(s.mainCpu)})  failed ${s.failed}`,
      );
    }
    for (const n of BATCH_SIZES) {
      const s = await load(on, bodyOf(n), seconds / 2);
      batches.get(n)!.push(s);
      status(`round ${i}/${rounds} batch of ${String(n).padEnd(2)}  ${fmt(s.rps * n).padStart(6)} rows/s  p99 ${s.p99} ms  failed ${s.failed}`);
    }
  }
  // The OOD score's cost is a few per cent at most, well inside the spread between 10 s rounds on a shared
  // machine: short rounds of the two replicas back to back, in alternating order, compare them under the same load.
  for (let i = 0; i < OOD_PAIRS; i++) {
    const first = i % 2 ? oodOff : on;
    const a = await load(first, single, OOD_PAIR_S);
    const b = await load(first === on ? oodOff : on, single, OOD_PAIR_S);
    const [withScore, without] = first === on ? [a, b] : [b, a];
    oodPairs.push({ rps: withScore.rps / without.rps, cpu: withScore.cpu / without.cpu });
    status(`OOD pair ${i + 1}/${OOD_PAIRS}: on/off ${fmt(withScore.rps / without.rps, 3)} (req/s), ${fmt(withScore.cpu / without.cpu, 3)} (CPU per prediction)`);
  }
} finally {
  await Promise.all(Object.values(targets).map((t) => t.stop()));
  rmSync(bareLogDir, { recursive: true, force: true });
}

// --- where a prediction's CPU goes -----------------------------------------------------------

status(`profiling a replica under the same load (${seconds} s, node --cpu-prof)`);
const profileDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-profile-'));
const profiled = replicaTarget(await startReplicaProcess({ MLMON_API_REPLICA_ID: 'bench-profile' }, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]));
await load(profiled, single, 2);
await load(profiled, single, seconds);
await profiled.stop();
const split = stageSplit(path.join(profileDir, readdirSync(profileDir)[0]!));
rmSync(profileDir, { recursive: true, force: true });

// --- the OOD score alone, in-process: a figure the machine's noise cannot hide ------------------

const scorer = loadOodScorer(path.join(MODEL_ARTIFACTS_DIR, 'v1'), holdout.feature_names)!;
const scored = holdout.rows.map((r) => r.features);
const PASS = 200_000;
// CPU time, not wall time: on a shared machine the wall clock also counts what other processes ran meanwhile.
const passes = Array.from({ length: 7 }, () => {
  const t = process.cpuUsage();
  for (let i = 0; i < PASS; i++) scorer.score(scored[i % scored.length]!);
  const used = process.cpuUsage(t);
  return (used.user + used.system) / PASS;
});

// --- report -----------------------------------------------------------------------------------

const med = (mode: Mode, k: keyof Sample) => median(samples[mode].map((s) => s[k]));
console.log(`\nmedians over ${rounds} rounds of ${seconds} s, ${connections} connections, one process each, ${os.cpus().length} cores shared with autocannon:`);
console.log('| server | req/s | p50 ms | p99 ms | CPU µs per request | of which main thread |');
console.log('|---|---|---|---|---|---|');
for (const mode of Object.keys(targets) as Mode[]) {
  console.log(`| ${mode} | ${fmt(med(mode, 'rps'))} | ${med(mode, 'p50')} | ${med(mode, 'p99')} | ${fmt(med(mode, 'cpu'))} | ${fmt(med(mode, 'mainCpu'))} |`);
}

console.log(`\nbatch requests, logging on (medians):`);
console.log('| rows per request | requests/s | rows/s | p99 ms | main-thread CPU µs per row |');
console.log('|---|---|---|---|---|');
for (const [n, s] of batches) {
  const m = (k: keyof Sample) => median(s.map((x) => x[k]));
  console.log(`| ${n} | ${fmt(m('rps'))} | ${fmt(m('rps') * n)} | ${m('p99')} | ${fmt(m('mainCpu') / n, 1)} |`);
}

// The profiler slows what it watches, so shares come from the profile and µs from the unprofiled runs.
const perPrediction = med('logging on', 'mainCpu');
console.log(`\nmain-thread CPU per prediction by stage, logging on (${fmt(perPrediction)} µs in all; shares from the profile):`);
console.log('| stage | share | µs per prediction |');
console.log('|---|---|---|');
for (const stage of STAGES) {
  const share = split.micros[stage] / split.busy;
  console.log(`| ${stage} | ${fmt(share * 100, 1)}% | ${fmt(share * perPrediction, 1)} |`);
}

// Each round loads the targets back to back, so a ratio is taken within a round and the median over
// rounds reported: this VM's speed drifts by a fifth between rounds, which a ratio of medians would mix in.
const ratio = (a: Mode, b: Mode, k: 'rps' | 'cpu' = 'rps') => median(samples[a].map((s, i) => s[k] / samples[b][i]![k]));
console.log(`\nratios within each round, median over ${rounds} rounds:`);
console.log(`ratio predict / bare Hono (req/s): ${fmt(ratio('logging on', 'bare Hono'), 3)}  (target >= 0.6)`);
console.log(`ratio logging off / bare Hono (req/s): ${fmt(ratio('logging off', 'bare Hono'), 3)}`);
console.log(`ratio bare + line / bare Hono (req/s): ${fmt(ratio('bare + line', 'bare Hono'), 3)}  (a server that only formats and writes each prediction's line)`);
console.log(`ratio predict / bare + line (req/s): ${fmt(ratio('logging on', 'bare + line'), 3)}`);
console.log(`ratio logging on / off (req/s): ${fmt(ratio('logging on', 'logging off'), 3)}  (target >= 0.9)`);
console.log(`ratio logging on / off (CPU per prediction): ${fmt(ratio('logging on', 'logging off', 'cpu'), 3)}`);
console.log(`ratio OOD score on / off (req/s): ${fmt(ratio('logging on', 'OOD off'), 3)}  (target >= 0.97)`);
console.log(`ratio OOD score on / off (CPU per prediction): ${fmt(ratio('logging on', 'OOD off', 'cpu'), 3)}`);
console.log(`OOD score on / off, ${oodPairs.length} back-to-back pairs of ${OOD_PAIR_S} s: ${fmt(median(oodPairs.map((p) => p.rps)), 3)} (req/s), ${fmt(median(oodPairs.map((p) => p.cpu)), 3)} (CPU per prediction)  (target >= 0.97 req/s)`);
console.log(`the OOD score alone, in-process: ${fmt(median(passes), 2)} CPU µs per row (median of ${passes.length} passes of ${PASS} rows; k = ${scorer.k}, ${holdout.feature_names.length} features), ${fmt((100 * median(passes)) / med('logging on', 'cpu'), 1)}% of a prediction's CPU above`);
if ([...Object.values(samples).flat(), ...[...batches.values()].flat()].some((s) => s.failed > 0)) {
  console.error('some requests failed: the figures above are not clean');
  process.exitCode = 1;
}
