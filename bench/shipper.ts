/**
 * What the log shipper costs, side by side with two references, on one
 * Elasticsearch and one generated log file of predictions:
 *
 *   ceiling  the same documents as pre-built `_bulk` bodies (same bulk size and
 *            concurrency as the shipper) sent straight to Elasticsearch: what
 *            the cluster can take, with no reading, parsing or validating;
 *   shipper  log-shipper/src/main.ts with its default batching;
 *   rsyslog  rsyslogd (imfile + mmjsonparse + omelasticsearch), a separate
 *            instance with its own config, pid file and work directory.
 *
 * Each run indexes the whole file into a fresh index prefix and is timed from
 * the moment the file appears in the watched directory (a hard link, so no
 * copy is timed) until Elasticsearch has indexed every line. Variants take
 * turns, in a rotated order, for several rounds; the table shows medians.
 * CPU is the shipping process's own (and Elasticsearch's), per 100k events.
 * Then the end-to-end lag: predictions written at a steady rate, and for a
 * sample of them the time until a realtime GET finds the document.
 *
 *   npm run bench:shipper
 *   MLMON_BENCH_ROUNDS=5 MLMON_BENCH_EVENTS=200000 MLMON_BENCH_LAG_DURATION=30s npm run bench:shipper
 *   MLMON_BENCH_ES_URL=http://127.0.0.1:9200 npm run bench:shipper   # an existing cluster (no Elasticsearch CPU column)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median, quantile } from 'simple-statistics';
import { createEsClient, createEventLog, freePort, loadEsConfig, waitUntil, type EventLog } from '@mlmon/runtime';
import { familyIndex } from '@mlmon/contract';
import { ES_DIST_DIR, startInstance, stopInstance } from '@mlmon/elasticsearch';
import { setupTemplates } from '@mlmon/contract';
import { loadShipperConfig } from '@mlmon/log-shipper/config';
import { routeLine } from '@mlmon/log-shipper/router';
import { cpuSeconds } from './proc-cpu.js';
import { benchConfig } from './settings.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const settings = benchConfig();
const rounds = settings.MLMON_BENCH_ROUNDS;
const events = settings.MLMON_BENCH_EVENTS;
const lagMs = settings.MLMON_BENCH_LAG_DURATION;
const lagRate = settings.MLMON_BENCH_LAG_RATE;
/** One in this many predictions of the lag phase is looked up: enough samples for a p99, little load on the cluster. */
const LAG_SAMPLE_EVERY = 10;
/** Named per run, so that two runs on one machine never stop each other's cluster; its directory goes with the run. */
const INSTANCE = `bench-shipper-${process.pid}`;
const shipperDefaults = loadShipperConfig({});

const work = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-shipper-'));
const log = (msg: string) => console.log(msg);



// --- the cluster -------------------------------------------------------------

let esUrl = settings.MLMON_BENCH_ES_URL;
let esPid: number | undefined;
if (!esUrl) {
  const port = await freePort();
  const instance = await startInstance({ name: INSTANCE, port, fresh: true, log });
  esUrl = instance.url;
  esPid = instance.pid;
}
const client = createEsClient({ ...loadEsConfig(), MLMON_ES_URL: esUrl }, { name: 'mlmon-bench' });
const esCpu = () => (esPid === undefined ? 0 : cpuSeconds(esPid));

async function indexed(prefix: string): Promise<number> {
  const stats = await client.indices.stats({ index: `${prefix}-predictions-*`, metric: 'indexing' });
  return stats._all.primaries?.indexing?.index_total ?? 0;
}

async function documents(prefix: string): Promise<number> {
  await client.indices.refresh({ index: `${prefix}-*` });
  return (await client.count({ index: `${prefix}-predictions-*` })).count;
}

async function dropPrefix(prefix: string): Promise<void> {
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }));
  if (indices.length) await client.indices.delete({ index: indices.join(',') });
  const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
  for (const t of templates.index_templates ?? []) await client.indices.deleteIndexTemplate({ name: t.name });
  const components = await client.cluster.getComponentTemplate({ name: `${prefix}@*` }, { ignore: [404] });
  for (const c of components.component_templates ?? []) await client.cluster.deleteComponentTemplate({ name: c.name });
}

// --- the log file ------------------------------------------------------------

const holdout = JSON.parse(readFileSync(path.join(REPO_ROOT, 'model/artifacts/holdout.json'), 'utf8')) as {
  rows: Array<{ features: Record<string, number> }>;
};

/** A prediction line exactly as a replica writes it; returns its id. */
function writePrediction(eventLog: EventLog, i: number): string {
  const id = randomUUID();
  const row = holdout.rows[i % holdout.rows.length]!;
  void eventLog.write('mlmon.prediction', 'info', 'prediction', {
    event: { duration: 2_000_000 + (i % 1000) * 1000 },
    http: { request: { id: randomUUID() } },
    mlmon: {
      model: { name: 'breast-cancer-classifier', version: 'v1', role: 'active' },
      prediction: { id, label: i % 3 === 0 ? 'malignant' : 'benign', score: (i % 100) / 100, features: row.features },
    },
  });
  return id;
}

function eventLogIn(dir: string, name: string): EventLog {
  return createEventLog({ service: 'mlmon-api', node: name, dir, basename: `api-${name}`, maxBytes: 1e12, maxFiles: 2 });
}

const generated = eventLogIn(path.join(work, 'generated'), 'bench');
for (let i = 0; i < events; i++) {
  writePrediction(generated, i);
  if ((i + 1) % 25_000 === 0) log(`generated ${i + 1}/${events} prediction lines`);
}
await generated.close();
const lines = readFileSync(generated.file, 'utf8').split('\n').filter((l) => l !== '');
log(`log file: ${events} lines, ${(Buffer.byteLength(lines.join('\n')) / 1e6).toFixed(1)} MB\n`);

// --- the three ways to ship it -------------------------------------------------

interface Sample {
  seconds: number;
  agentCpu: number;
  esCpu: number;
}

type Variant = 'ceiling' | 'shipper' | 'rsyslog';

/** Waits until Elasticsearch has indexed every line, printing progress; returns when it saw the last one. */
async function untilIndexed(prefix: string, what: string, started: number): Promise<number> {
  let reported = started;
  let n = 0;
  const done = async () => {
    n = await indexed(prefix);
    const now = performance.now();
    if (n >= events) return now;
    if (now - reported > 5000) {
      reported = now;
      log(`  ${what}: ${n}/${events} indexed after ${((now - started) / 1000).toFixed(0)} s`);
    }
    return false;
  };
  return waitUntil(done, { timeoutMs: 600_000, intervalMs: 100 }).catch((err: Error) => {
    throw new Error(`${what}: only ${n}/${events} indexed after 10 minutes (${err.message})`);
  });
}

async function ceiling(prefix: string): Promise<Sample> {
  // Built before the clock starts, with the same bulk size and concurrency as the shipper's defaults.
  const bodies: string[] = [];
  let body = '';
  for (const line of lines) {
    const route = routeLine(line, { prefix, stream: 'bench', offset: 0 });
    if (!route.ok) throw new Error(route.reason);
    body += `{"create":{"_index":"${route.index}","_id":"${route.id}"}}\n${line}\n`;
    if (body.length >= shipperDefaults.MLMON_SHIPPER_FLUSH_BYTES) {
      bodies.push(body);
      body = '';
    }
  }
  if (body) bodies.push(body);
  const cpu0 = process.cpuUsage();
  const es0 = esCpu();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: shipperDefaults.MLMON_SHIPPER_CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const res = await fetch(`${esUrl}/_bulk?filter_path=errors,items.*.status,items.*.error`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: bodies[next++] });
        const reply = (await res.json()) as { errors: boolean };
        if (!res.ok || reply.errors) throw new Error(`ceiling: bulk failed with ${res.status}`);
      }
    }),
  );
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (t1 - t0) / 1000, agentCpu: (cpu.user + cpu.system) / 1e6, esCpu: esCpu() - es0 };
}

async function started(what: string, child: ChildProcess, ready: () => boolean): Promise<void> {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  await waitUntil(ready, { timeoutMs: 30_000, intervalMs: 50, what: `${what} ready`, abortIf: () => (child.exitCode === null ? undefined : `exited with code ${child.exitCode}`) }).catch((err: Error) => {
    // What the process printed says why it did not start.
    throw new Error(`${what} did not start (${err.message}):\n${output}`);
  });
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Waits until a shipping process is ready, then times it over the file. */
async function timeProcess(what: string, prefix: string, watch: string, child: ChildProcess, ready: () => boolean): Promise<Sample> {
  await started(what, child, ready);
  // Past its start-up work (module loading, compiling), so that only shipping is measured.
  await sleep(500);
  const pid = child.pid!;
  const cpu0 = cpuSeconds(pid);
  const es0 = esCpu();
  const t0 = performance.now();
  linkSync(generated.file, path.join(watch, 'api-bench.ndjson'));
  try {
    const t1 = await untilIndexed(prefix, what, t0);
    return { seconds: (t1 - t0) / 1000, agentCpu: cpuSeconds(pid) - cpu0, esCpu: esCpu() - es0 };
  } finally {
    await stopped(child);
  }
}

function startShipper(prefix: string, dir: string, env: Record<string, string> = {}): { child: ChildProcess; ready: () => boolean } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'log-shipper/dist/main.js')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      MLMON_ES_URL: esUrl,
      MLMON_INDEX_PREFIX: prefix,
      MLMON_SHIPPER_GLOBS: path.join(dir, 'watch', '*.ndjson'),
      MLMON_SHIPPER_STATE_DIR: path.join(dir, 'state'),
      MLMON_LOG_DIR: path.join(dir, 'own'),
      // Templates are installed for every variant before its clock starts.
      MLMON_SHIPPER_SETUP_TEMPLATES: 'false',
      MLMON_SHIPPER_STATUS_INTERVAL: '1h',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  return { child, ready: () => output.includes('log-shipper: shipping') };
}

async function shipper(prefix: string, dir: string): Promise<Sample> {
  // rsyslog learns of the new file from inotify at once; the shipper lists its patterns every
  // MLMON_SHIPPER_SCAN_INTERVAL (1 s by default), which would time discovery rather than shipping.
  const { child, ready } = startShipper(prefix, dir, { MLMON_SHIPPER_SCAN_INTERVAL: '100ms' });
  return timeProcess('shipper', prefix, path.join(dir, 'watch'), child, ready);
}

/**
 * The same routing rsyslog-style: parse the line as JSON, index by dataset and
 * the event's own day, `create` with the prediction id. No schema validation:
 * rsyslog has none, which is part of what this comparison shows.
 */
function rsyslogConfig(prefix: string, dir: string): string {
  const port = new URL(esUrl!).port || '9200';
  return `
global(workDirectory="${dir}/work" maxMessageSize="64k")
module(load="imfile" mode="inotify")
module(load="mmjsonparse")
module(load="omelasticsearch")
template(name="doc" type="list") { property(name="msg") }
template(name="index" type="list") {
  constant(value="${prefix}-") property(name="$.family") constant(value="-")
  property(name="$!@timestamp" position.from="1" position.to="4") constant(value=".")
  property(name="$!@timestamp" position.from="6" position.to="7") constant(value=".")
  property(name="$!@timestamp" position.from="9" position.to="10")
}
template(name="id" type="list") { property(name="$!mlmon!prediction!id") }
ruleset(name="ship") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  if $parsesuccess == "OK" and $!event!dataset == "mlmon.prediction" then {
    set $.family = "predictions";
    action(type="omelasticsearch" server="127.0.0.1" serverport="${port}" esVersion.major="8"
      template="doc" searchIndex="index" dynSearchIndex="on"
      bulkmode="on" maxbytes="${shipperDefaults.MLMON_SHIPPER_FLUSH_BYTES}" bulkid="id" dynbulkid="on" writeoperation="create"
      errorFile="${dir}/es-errors.json"
      queue.type="linkedlist" queue.size="200000" queue.dequeueBatchSize="${rsyslogBatch}"
      queue.workerThreads="${shipperDefaults.MLMON_SHIPPER_CONCURRENCY}" action.resumeRetryCount="-1")
  } else {
    action(type="omfile" file="${dir}/dead-letter.log")
  }
}
input(type="imfile" File="${dir}/watch/*.ndjson" Tag="mlmon" ruleset="ship" addMetadata="off")
`;
}

/** About the shipper's bulk size in lines: omelasticsearch sends one bulk request per dequeued batch. */
const rsyslogBatch = Math.round(shipperDefaults.MLMON_SHIPPER_FLUSH_BYTES / (Buffer.byteLength(lines[0]!) + 80));

async function rsyslog(prefix: string, dir: string): Promise<Sample> {
  mkdirSync(path.join(dir, 'work'), { recursive: true });
  const config = path.join(dir, 'rsyslog.conf');
  const pidFile = path.join(dir, 'rsyslogd.pid');
  writeFileSync(config, rsyslogConfig(prefix, dir));
  const child = spawn('rsyslogd', ['-n', '-f', config, '-i', pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  return timeProcess('rsyslog', prefix, path.join(dir, 'watch'), child, () => existsSync(pidFile));
}

const runners: Record<Variant, (prefix: string, dir: string) => Promise<Sample>> = { ceiling, shipper, rsyslog };

async function measure(variant: Variant, round: number): Promise<Sample> {
  const prefix = `bench-${variant}-${round}`;
  const dir = path.join(work, `${variant}-${round}`);
  mkdirSync(path.join(dir, 'watch'), { recursive: true });
  await dropPrefix(prefix);
  await setupTemplates(client, { prefix });
  try {
    const sample = await runners[variant](prefix, dir);
    const docs = await documents(prefix);
    if (docs !== events) throw new Error(`${variant}: ${docs} documents for ${events} lines`);
    return sample;
  } finally {
    // Deleted at once so that merging one run's segments does not eat into the next run.
    await dropPrefix(prefix);
    await sleep(2000);
  }
}

// --- lag at a steady rate --------------------------------------------------------

async function lag(round: number): Promise<number[]> {
  const prefix = `bench-lag-${round}`;
  const dir = path.join(work, `lag-${round}`);
  const watch = path.join(dir, 'watch');
  mkdirSync(watch, { recursive: true });
  await dropPrefix(prefix);
  await setupTemplates(client, { prefix });
  // The shipper exactly as configured by default: scan, poll and flush intervals included.
  const { child, ready } = startShipper(prefix, dir);
  const eventLog = eventLogIn(watch, 'lag');
  const outstanding = new Map<string, { index: string; at: number }>();
  const lags: number[] = [];
  let writing = true;
  try {
    await started('shipper', child, ready);
    writePrediction(eventLog, 0);
    await sleep(2000);
    const poller = (async () => {
      while (writing || outstanding.size > 0) {
        const batch = [...outstanding.entries()];
        if (batch.length > 0) {
          const res = await client.mget({ docs: batch.map(([id, s]) => ({ _index: s.index, _id: id })), _source: false });
          const now = performance.now();
          for (const doc of res.docs) {
            if ('found' in doc && doc.found) {
              lags.push((now - outstanding.get(doc._id)!.at) / 1000);
              outstanding.delete(doc._id);
            }
          }
        }
        await sleep(100);
      }
    })();
    const t0 = performance.now();
    let written = 0;
    while (performance.now() - t0 < lagMs) {
      const due = Math.floor(((performance.now() - t0) / 1000) * lagRate);
      for (; written < due; written++) {
        const id = writePrediction(eventLog, written);
        if (written % LAG_SAMPLE_EVERY === 0) outstanding.set(id, { index: familyIndex(prefix, 'predictions', new Date()), at: performance.now() });
      }
      await sleep(10);
    }
    writing = false;
    await Promise.race([poller, sleep(60_000).then(() => Promise.reject(new Error(`lag: ${outstanding.size} sampled predictions never arrived`)))]);
    return lags;
  } finally {
    writing = false;
    await stopped(child);
    await eventLog.close();
    await dropPrefix(prefix);
  }
}

// --- the run -------------------------------------------------------------------

const variants: Variant[] = ['ceiling', 'shipper', 'rsyslog'];
const samples: Record<Variant, Sample[]> = { ceiling: [], shipper: [], rsyslog: [] };
const lagP50: number[] = [];
const lagP99: number[] = [];
try {
  // A first round nobody counts: Elasticsearch's JIT takes more than one run to settle (a single
  // warm-up run still left the next one at half speed), and it should not settle on whichever variant comes first.
  for (const variant of variants) {
    const s = await measure(variant, 0);
    log(`warm-up ${variant.padEnd(7)} ${(events / s.seconds).toFixed(0).padStart(6)} docs/s (not counted)`);
  }
  for (let round = 1; round <= rounds; round++) {
    // Rotated so that no variant always runs first (cold) or right after another one's merges.
    const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
    for (const variant of order) {
      const s = await measure(variant, round);
      samples[variant].push(s);
      log(
        `round ${round}/${rounds} ${variant.padEnd(7)} ${(events / s.seconds).toFixed(0).padStart(6)} docs/s  ${s.seconds.toFixed(1)} s  agent CPU ${s.agentCpu.toFixed(2)} s  Elasticsearch CPU ${s.esCpu.toFixed(2)} s`,
      );
    }
    const lags = await lag(round);
    lagP50.push(quantile(lags, 0.5));
    lagP99.push(quantile(lags, 0.99));
    log(`round ${round}/${rounds} lag at ${lagRate} predictions/s: p50 ${lagP50.at(-1)!.toFixed(2)} s  p99 ${lagP99.at(-1)!.toFixed(2)} s  (${lags.length} samples)`);
  }
} finally {
  await client.close();
  if (esPid !== undefined) {
    await stopInstance(INSTANCE, { log });
    rmSync(path.join(path.dirname(ES_DIST_DIR), 'instances', INSTANCE), { recursive: true, force: true });
  }
  rmSync(work, { recursive: true, force: true });
}

const per100k = (cpu: number) => (cpu / events) * 100_000;
const med = (variant: Variant, f: (s: Sample) => number) => median(samples[variant].map(f));
const rate = (variant: Variant) => med(variant, (s) => events / s.seconds);
console.log(`\nmedians over ${rounds} rounds, ${events} prediction lines, bulk ${shipperDefaults.MLMON_SHIPPER_FLUSH_BYTES} bytes × ${shipperDefaults.MLMON_SHIPPER_CONCURRENCY} in flight, one single-node Elasticsearch, ${os.cpus().length} cores shared:`);
console.log('| variant | docs/s | agent CPU s / 100k events | Elasticsearch CPU s / 100k events |');
console.log('|---|---|---|---|');
for (const v of variants) {
  const es = esPid === undefined ? 'n/a' : per100k(med(v, (s) => s.esCpu)).toFixed(1);
  console.log(`| ${v} | ${rate(v).toFixed(0)} | ${per100k(med(v, (s) => s.agentCpu)).toFixed(2)} | ${es} |`);
}
const vsCeiling = rate('shipper') / rate('ceiling');
const vsRsyslog = rate('shipper') / rate('rsyslog');
const p99 = median(lagP99);
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const shipperCpu = per100k(med('shipper', (s) => s.agentCpu));
console.log(`\nshipper / ceiling (docs/s): ${vsCeiling.toFixed(2)}  (target >= 0.9: ${verdict(vsCeiling >= 0.9)})`);
console.log(`shipper CPU s / 100k events: ${shipperCpu.toFixed(2)}  (target <= 2: ${verdict(shipperCpu <= 2)})`);
console.log(`shipper / rsyslog (docs/s): ${vsRsyslog.toFixed(2)}  (target >= 1.0: ${verdict(vsRsyslog >= 1)})`);
console.log(
  `end-to-end lag at ${lagRate} predictions/s (written -> found by a realtime GET): p50 ${median(lagP50).toFixed(2)} s, p99 ${p99.toFixed(2)} s  (target p99 <= 2 s: ${verdict(p99 <= 2)})`,
);
