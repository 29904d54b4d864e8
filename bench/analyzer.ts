/**
 * What computing a 1h window costs, three ways, on the same generated window
 * in the same run:
 *
 *   tick         what the service does every MLMON_ANALYZER_INTERVAL with the
 *                window's slices behind it: the census over the late horizon,
 *                one new slice collected, the slices merged, the report
 *                finished (SliceStore.update + report);
 *   full pass    analyzeWindow(): the whole window collected at once, then
 *                finished (what `mlmon analyze --from --to` does, and what the
 *                service did before slices; also the cost of building every
 *                slice once, after a cold start, in about as many searches);
 *   naive        scroll every prediction and labeled document of the window
 *                out of Elasticsearch and compute the same figures in the
 *                process (same bins, same formulas).
 * The three must agree to 1e-9.
 *
 * Data: N predictions spread over one hour (30 features, float32 values as the
 * index stores them), 0.3·N feedback events and 0.001·N rejected-input
 * warnings (the api's, for data quality), bulk-indexed with the client's
 * helpers.bulk under a fresh prefix, then joined by the analyzer's Joiner
 * (timed apart: it runs once per feedback, not once per pass). Tick and full
 * pass are timed at 0.1·N and again at N (medians of 3), with the process's
 * peak RSS; the analyzer's own peak RSS is measured in processes of their own
 * (`mlmon analyze`, and the service through its cold start and a tick).
 * Everything under the prefix is deleted at the end.
 *
 *   MLMON_ES_URL=http://127.0.0.1:9200 npm run bench:analyzer                 # N = 1,000,000
 *   MLMON_ES_URL=http://127.0.0.1:9200 npm run bench:analyzer -- --scale 0.1  # N = 100,000, quick
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import { HttpConnection, type Client } from '@elastic/elasticsearch';
import { createEsClient, loadEsConfig, waitUntil } from '@mlmon/runtime';
import { familyPattern, setupTemplates } from '@mlmon/contract';
import {
  DEFAULT_SETTINGS,
  FEATURE_ERRORS,
  Joiner,
  Judgments,
  SliceStore,
  StateFile,
  analyzeWindow,
  aucFromHistograms,
  binCounts,
  calibrate,
  countAtMost,
  countsBelow,
  ksPValue,
  ksStatistic,
  loadReference,
  psi,
  referenceBinCounts,
  type ReferenceDistribution,
  type WindowReport,
} from '@mlmon/analyzer';

const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
if (!(scale > 0)) throw new Error('--scale must be a positive number');
const N = Math.round(1_000_000 * scale);
const FEEDBACK_SHARE = 0.3;
const REJECTED_SHARE = 0.001;
const ROUNDS = 3;
const AUC_BIN = 2 ** -6;
/** The service's defaults: a 15 s tick, a 5 min late horizon. */
const INTERVAL_MS = 15_000;
const HORIZON_MS = 300_000;
const work = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-analyzer-'));

// HttpConnection: the default undici connection caps every response at its own 30 s headers timeout whatever
// requestTimeout says, and a full pass over 1M predictions on a busy machine takes longer.
const client = createEsClient(loadEsConfig(), { name: 'mlmon-bench-analyzer', requestTimeout: 600_000, Connection: HttpConnection });
const prefix = `bench-analyzer-${randomBytes(3).toString('hex')}`;
const reference = loadReference(new URL('../model/artifacts/reference_profile.json', import.meta.url).pathname);
const judgments = new Judgments(reference, DEFAULT_SETTINGS, [new URL('../model/artifacts/', import.meta.url).pathname]);
const names = reference.featureNames;
const end = new Date(Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS);
const window = { start: new Date(end.getTime() - 3_600_000), end, name: '1h' };
const log = (m: string) => console.log(`[bench:analyzer] ${m}`);

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

function uuidv7(ms: number): string {
  const h = ms.toString(16).padStart(12, '0') + '7' + randomBytes(9).toString('hex').slice(0, 19);
  const v = h.slice(0, 16) + ((parseInt(h[16]!, 16) & 3) | 8).toString(16) + h.slice(17, 32);
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}

/** Predictions from the reference sample with noise (and two features shifted), plus feedback for 30% of them and a few rejected requests. */
async function generate(from: number, to: number): Promise<void> {
  const started = Date.now();
  let made = 0;
  const feedback: Array<{ id: string; at: number; y: string }> = [];
  const rejected: Array<{ at: number; code: (typeof FEATURE_ERRORS)[number]; feature: string }> = [];
  async function* predictions() {
    for (let i = from; i < to; i++) {
      const at = window.start.getTime() + Math.floor(((i * 7919) % N) * (3_600_000 / N));
      const y = Math.random() < 0.37;
      const score = Math.fround(1 / (1 + Math.exp(-((y ? 2.5 : -2.5) + 2 * gaussian()))));
      const features: Record<string, number> = {};
      for (const f of names) {
        const s = reference.features.get(f)!;
        let v = s.values[Math.floor(Math.random() * s.values.length)]! * (1 + 0.03 * gaussian());
        if (f === 'mean_radius' || f === 'worst_area') v *= 1.3;
        features[f] = Math.fround(Math.max(v, 0));
      }
      const id = uuidv7(at);
      if (Math.random() < FEEDBACK_SHARE) feedback.push({ id, at: at + 1000 + Math.floor(Math.random() * 60_000), y: y ? 'malignant' : 'benign' });
      if (Math.random() < REJECTED_SHARE) {
        rejected.push({ at, code: FEATURE_ERRORS[Math.floor(Math.random() * 2)]!, feature: names[Math.floor(Math.random() * names.length)]! });
      }
      made += 1;
      if (made % 100_000 === 0) log(`generated ${made} of ${to - from} predictions (${Math.round(made / ((Date.now() - started) / 1000))}/s)`);
      yield {
        '@timestamp': new Date(at).toISOString(),
        event: { dataset: 'mlmon.prediction', kind: 'event', duration: 1_000_000 },
        service: { name: 'mlmon-api', node: { name: 'replica-1' } },
        http: { request: { id: id.slice(-12) } },
        mlmon: { model: { name: reference.name, version: 'v1', role: 'active' }, prediction: { id, label: score >= 0.5 ? 'malignant' : 'benign', score, features } },
      };
    }
  }
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '.');
  await bulk(client, predictions(), (d) => ({ create: { _index: `${prefix}-predictions-${day(Date.parse(d['@timestamp']))}`, _id: d.mlmon.prediction.id } }));
  await bulk(
    client,
    feedback.map((f) => ({
      '@timestamp': new Date(f.at).toISOString(),
      event: { dataset: 'mlmon.feedback', kind: 'event' },
      mlmon: { prediction: { id: f.id }, feedback: { true_label: f.y, delay_ms: 1000 } },
    })),
    (d) => ({ create: { _index: `${prefix}-feedback-${day(Date.parse(d['@timestamp']))}` } }),
  );
  await bulk(
    client,
    rejected.map((r, i) => ({
      '@timestamp': new Date(r.at).toISOString(),
      log: { level: 'warn' },
      event: { dataset: 'mlmon.app', kind: 'event' },
      service: { name: 'mlmon-api', node: { name: 'replica-1' } },
      error: { code: r.code, message: 'rejected', type: 'client' },
      http: { request: { id: `rejected-${from}-${i}` } },
      mlmon: { app: { field: `instances[0].${r.feature}` } },
    })),
    (d) => ({ create: { _index: `${prefix}-events-${day(Date.parse(d['@timestamp']))}` } }),
  );
  log(`indexed ${to - from} predictions, ${feedback.length} feedback and ${rejected.length} rejected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function bulk<T extends object>(c: Client, datasource: AsyncIterator<T> | T[], action: (d: T) => object): Promise<void> {
  const stats = await c.helpers.bulk<T>({ datasource, onDocument: action as never, flushBytes: 4 * 1024 * 1024, concurrency: 2, refreshOnCompletion: true });
  if (stats.failed > 0) throw new Error(`${stats.failed} documents failed to index`);
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

interface NaiveResult {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
  brier: number;
  roc_auc: number;
  avg_score: number;
  estimated_accuracy: number;
  estimated_precision: number;
  psi: number[];
  ks: number[];
  p: number[];
  out_of_range_rate: number[];
  missing_rate: number[];
  invalid_rate: number[];
  any_out_of_range_rate: number;
  rejected_rate: number;
}

/** The naive pass: every document of the window out through scroll, the same figures computed here. */
async function naive(): Promise<NaiveResult> {
  const range = { range: { '@timestamp': { gte: window.start.toISOString(), lt: window.end.toISOString() } } };
  const buckets = names.map((f) => new Array<number>(reference.features.get(f)!.boundaries.length + 1).fill(0));
  const outOfRange = names.map(() => 0);
  let count = 0;
  let scoreSum = 0;
  // CBPE row by row, as NannyML computes it: each row's calibrated score, summed by predicted label.
  const v1 = judgments.of('v1');
  if (!('cbpe' in v1) || !v1.cbpe.calibrator) throw new Error('bench: v1 has no calibrated CBPE (model/artifacts/v1/reference.json)');
  let expectedCorrect = 0;
  let predictedPositive = 0;
  let truePositive = 0;
  let ood = 0;
  for await (const hit of client.helpers.scrollDocuments<{ mlmon: { prediction: { score: number; label: string; features: Record<string, number> } } }>({
    index: `${prefix}-predictions-*`,
    size: 5000,
    query: range,
    _source: ['mlmon.prediction.score', 'mlmon.prediction.label', 'mlmon.prediction.features'],
  })) {
    const p = hit.mlmon.prediction;
    count += 1;
    scoreSum += p.score;
    const c = calibrate(v1.cbpe.calibrator, Math.fround(p.score));
    const positive = p.label === reference.positiveLabel;
    expectedCorrect += positive ? c : 1 - c;
    if (positive) {
      predictedPositive += 1;
      truePositive += c;
    }
    let out = false;
    names.forEach((f, i) => {
      const ref = reference.features.get(f)!;
      const x = Math.fround(p.features[f]!);
      buckets[i]![bucketOf(ref, x)]! += 1;
      if (x < ref.min || x > ref.max) {
        outOfRange[i]! += 1;
        out = true;
      }
    });
    if (out) ood += 1;
  }
  let labeled = 0;
  let correct = 0;
  const confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  let ll = 0;
  let br = 0;
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  for await (const hit of client.helpers.scrollDocuments<{
    mlmon: { labeled: { positive: number; predicted_positive: number; correct: number; log_loss: number; brier: number; logit: number } };
  }>({
    index: `${prefix}-labeled-*`,
    size: 5000,
    query: { bool: { filter: [range, { term: { 'mlmon.labeled.status': 'joined' } }] } },
    _source: ['mlmon.labeled'],
  })) {
    const l = hit.mlmon.labeled;
    labeled += 1;
    correct += l.correct;
    confusion[l.positive ? (l.predicted_positive ? 'tp' : 'fn') : l.predicted_positive ? 'fp' : 'tn'] += 1;
    ll += l.log_loss;
    br += l.brier;
    const bin = Math.floor(l.logit / AUC_BIN) * AUC_BIN;
    const m = l.positive ? pos : neg;
    m.set(bin, (m.get(bin) ?? 0) + 1);
  }
  const missing = names.map(() => 0);
  const invalid = names.map(() => 0);
  let rejected = 0;
  for await (const hit of client.helpers.scrollDocuments<{ error: { code: string }; mlmon: { app: { field: string } } }>({
    index: `${prefix}-events-*`,
    size: 5000,
    query: { bool: { filter: [range, { term: { 'event.dataset': 'mlmon.app' } }, { terms: { 'error.code': [...FEATURE_ERRORS] } }] } },
    _source: ['error.code', 'mlmon.app.field'],
  })) {
    rejected += 1;
    const i = names.indexOf(hit.mlmon.app.field.slice(hit.mlmon.app.field.lastIndexOf('.') + 1));
    (hit.error.code === 'missing_feature' ? missing : invalid)[i]! += 1;
  }
  const received = count + rejected;
  const { tp, fp, fn } = confusion;
  const drift = names.map((f, i) => {
    const ref = reference.features.get(f)!;
    const below = countsBelow(ref, buckets[i]!);
    const ks = ksStatistic(ref, below, count);
    return { psi: psi(binCounts(ref, below, count), referenceBinCounts(ref), DEFAULT_SETTINGS.psiFloor), ks, p: ksPValue(ks, ref.n, count) };
  });
  return {
    accuracy: correct / labeled,
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    f1: (2 * tp) / (2 * tp + fp + fn),
    log_loss: ll / labeled,
    brier: br / labeled,
    roc_auc: aucFromHistograms(pos, neg)!.auc,
    avg_score: scoreSum / count,
    estimated_accuracy: expectedCorrect / count,
    estimated_precision: truePositive / predictedPositive,
    psi: drift.map((d) => d.psi),
    ks: drift.map((d) => d.ks),
    p: drift.map((d) => d.p),
    out_of_range_rate: outOfRange.map((c) => c / count),
    missing_rate: missing.map((c) => c / received),
    invalid_rate: invalid.map((c) => c / received),
    any_out_of_range_rate: ood / count,
    rejected_rate: rejected / received,
  };
}

/** Which range bucket a value falls in: 0 is below the first boundary. */
const bucketOf = (ref: ReferenceDistribution, x: number) => countAtMost(ref.boundaries, x);

async function timed<T>(what: string, fn: () => Promise<T>): Promise<{ seconds: number[]; result: T; peakMb: number }> {
  const seconds: number[] = [];
  let result!: T;
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    result = await fn();
    seconds.push(Number(process.hrtime.bigint() - t) / 1e9);
    log(`${what} round ${r + 1}: ${seconds.at(-1)!.toFixed(2)} s`);
  }
  return { seconds, result, peakMb: peakRss / 1e6 };
}

/**
 * The analyzer's own peak RSS for one pass: `mlmon analyze` over the same
 * window in a process of its own, measured by GNU time, so that the bench's
 * generated data and client do not count.
 */
function analyzerProcessPeakMb(): number {
  const cli = fileURLToPath(new URL('../cli/dist/main.js', import.meta.url));
  const args = ['-f', 'maxrss_kb=%M', process.execPath, cli, 'analyze', '--from', window.start.toISOString(), '--to', window.end.toISOString(), '--json'];
  const run = spawnSync('/usr/bin/time', args, { env: { ...process.env, MLMON_INDEX_PREFIX: prefix }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const kb = /maxrss_kb=(\d+)/.exec(run.stderr)?.[1];
  if (run.status !== 0 || !kb) throw new Error(`mlmon analyze failed (${run.status}): ${run.stderr.slice(-500)}`);
  return Number(kb) / 1024;
}

function compare(agg: WindowReport, nv: NaiveResult): number {
  const g = agg.versions[0]!;
  const dq = g.data_quality;
  const pairs: Array<[string, number, number]> = [
    ['accuracy', g.quality.accuracy!, nv.accuracy],
    ['precision', g.quality.precision!, nv.precision],
    ['recall', g.quality.recall!, nv.recall],
    ['f1', g.quality.f1!, nv.f1],
    ['log_loss', g.quality.log_loss!, nv.log_loss],
    ['brier', g.quality.brier!, nv.brier],
    ['roc_auc', g.quality.roc_auc!, nv.roc_auc],
    ['avg_score', g.quality.avg_score!, nv.avg_score],
    ['estimated_accuracy', g.quality.estimated_accuracy!, nv.estimated_accuracy],
    ['estimated_precision', g.quality.estimated_precision!, nv.estimated_precision],
    ...g.drift.features.flatMap((d, i): Array<[string, number, number]> => [
      [`${d.feature}.psi`, d.psi, nv.psi[i]!],
      [`${d.feature}.ks`, d.ks, nv.ks[i]!],
      [`${d.feature}.p_value`, d.p_value, nv.p[i]!],
    ]),
    ...dq.features.flatMap((d, i): Array<[string, number, number]> => [
      [`${d.feature}.out_of_range_rate`, d.out_of_range_rate!, nv.out_of_range_rate[i]!],
      [`${d.feature}.missing_rate`, d.missing_rate!, nv.missing_rate[i]!],
      [`${d.feature}.invalid_rate`, d.invalid_rate!, nv.invalid_rate[i]!],
    ]),
    ['out_of_range_rate', dq.summary.out_of_range_rate!, nv.any_out_of_range_rate],
    ['rejected_rate', dq.summary.rejected_rate!, nv.rejected_rate],
  ];
  const worst = Math.max(...pairs.map(([, a, b]) => Math.abs(a - b)));
  // Negated so that a figure missing on one side (NaN) counts as a disagreement.
  const bad = pairs.filter(([, a, b]) => !(Math.abs(a - b) <= 1e-9));
  if (bad.length > 0) throw new Error(`aggregation and naive passes disagree: ${bad.slice(0, 5).map(([k, a, b]) => `${k} ${a} vs ${b}`).join('; ')}`);
  return worst;
}

/** Every figure of two reports of one window within 1e-9 (the tick against the full pass); the largest difference. */
function sameReports(a: WindowReport, b: WindowReport): number {
  let worst = 0;
  const bad: string[] = [];
  const walk = (x: unknown, y: unknown, where: string): void => {
    if (typeof y === 'number') {
      const d = Math.abs((x as number) - y);
      if (d <= 1e-9) worst = Math.max(worst, d);
      else bad.push(`${where} ${String(x)} vs ${y}`);
    } else if (y !== null && typeof y === 'object') {
      for (const k of new Set([...Object.keys(x as object), ...Object.keys(y)])) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${where}.${k}`);
    } else if (x !== y) bad.push(`${where} ${String(x)} vs ${String(y)}`);
  };
  walk(a.versions, b.versions, 'versions');
  if (bad.length > 0) throw new Error(`tick and full pass disagree: ${bad.slice(0, 5).join('; ')}`);
  return worst;
}

const HOUR = { name: '1h', ms: 3_600_000 };

/**
 * The service's steady state: a store holding every slice of the window (built
 * once, the cold start), then per round the newest slice forgotten, as if its
 * predictions had just come in, and the tick the service runs: update + report.
 */
async function tick(ctx: Parameters<typeof analyzeWindow>[0], n: number) {
  const store = new SliceStore(ctx, { intervalMs: INTERVAL_MS, windows: [HOUR], lateHorizonMs: HORIZON_MS, say: log });
  const t = Date.now();
  await store.update(end.getTime());
  const coldSeconds = (Date.now() - t) / 1000;
  log(`cold start at ${n}: ${store.size} slices collected in ${coldSeconds.toFixed(1)} s`);
  const run = await timed(`tick at ${n}`, async () => {
    store.forget(end.getTime() - INTERVAL_MS);
    const stats = await store.update(end.getTime());
    if (stats.collected !== 1 || stats.relabeled !== 0) throw new Error(`a steady tick should collect exactly one slice: ${JSON.stringify(stats)}`);
    return store.report(end.getTime(), HOUR);
  });
  return { ...run, coldSeconds, slices: store.size };
}

/**
 * The service's own peak RSS (VmHWM), in a process of its own: started on the
 * bench's data with the join already done (its state file), through its cold
 * start and one steady tick. Its window is the last hour of the clock, so it
 * holds the part of the generated hour that is still that recent.
 */
async function servicePeak(joinState: string): Promise<{ mb: number; count: number }> {
  const dir = path.join(work, 'service');
  mkdirSync(dir, { recursive: true });
  copyFileSync(joinState, path.join(dir, 'state.json'));
  const entry = fileURLToPath(new URL('../analyzer/dist/main.js', import.meta.url));
  const env = { ...process.env, MLMON_INDEX_PREFIX: prefix, MLMON_ANALYZER_WINDOWS: '1h', MLMON_ANALYZER_INTERVAL: `${INTERVAL_MS}ms`, MLMON_ANALYZER_STATE_DIR: dir, MLMON_LOG_DIR: dir, MLMON_ANALYZER_SETUP_TEMPLATES: 'false' };
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  // The service indexes its metric documents itself: the quality ones of this run's window.
  const quality = async () => {
    await client.indices.refresh({ index: familyPattern(prefix, 'metrics'), allow_no_indices: true });
    const res = await client.search<{ mlmon: { window: { end: string }; quality: { count: number } } }>({
      index: familyPattern(prefix, 'metrics'),
      allow_no_indices: true,
      size: 100,
      query: { bool: { filter: [{ term: { 'event.dataset': 'mlmon.quality' } }, { term: { 'mlmon.window.name': '1h' } }] } },
      sort: [{ 'mlmon.window.end': 'asc' }],
    });
    return res.hits.hits.map((h) => h._source!);
  };
  try {
    const events = await waitUntil(async () => {
      const q = await quality();
      return new Set(q.map((e) => e.mlmon.window.end)).size >= 2 && q;
    }, { timeoutMs: 20 * 60_000, intervalMs: 1000, what: 'the analyzer service computing two ticks', abortIf: () => (exited !== undefined ? `exited (${exited}): ${stderr.slice(-500)}` : undefined) });
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    return { mb: Number(hwm) / 1024, count: events.at(-1)!.mlmon.quality.count };
  } finally {
    child.kill('SIGTERM');
  }
}

try {
  await setupTemplates(client, { prefix });
  const ctx = { client, prefix, reference, settings: DEFAULT_SETTINGS, judgments, requestCache: false };
  const joinState = path.join(work, 'state.json');
  const small = Math.round(N / 10);
  await generate(0, small);
  let t = Date.now();
  let joined = await new Joiner(client, prefix, reference.positiveLabel, new StateFile(joinState), { progress: log }).run();
  log(`join of ${joined.feedbackRead} feedback: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const fullSmall = await timed(`full pass at ${small}`, () => analyzeWindow(ctx, window));
  const tickSmall = await tick(ctx, small);
  const agreeSmall = sameReports(tickSmall.result, fullSmall.result);
  await generate(small, N);
  t = Date.now();
  joined = await new Joiner(client, prefix, reference.positiveLabel, new StateFile(joinState), { progress: log }).run();
  log(`join of ${joined.feedbackRead} more feedback: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const full = await timed(`full pass at ${N}`, () => analyzeWindow(ctx, window));
  const tickBig = await tick(ctx, N);
  const agree = Math.max(agreeSmall, sameReports(tickBig.result, full.result));
  const nv = await timed(`naive pass at ${N}`, () => naive());
  const worst = compare(full.result, nv.result);
  const analyzerMb = analyzerProcessPeakMb();
  const service = await servicePeak(joinState);
  const [ts, tb, fs, fb, n] = [tickSmall, tickBig, fullSmall, full, nv].map((r) => median(r.seconds));
  const q = full.result.versions[0]!.quality;
  const row = (what: string, preds: number, sec: number, mb: number) => `| ${what.padEnd(44)} | ${String(preds).padStart(11)} | ${sec.toFixed(2).padStart(7)} | ${mb.toFixed(0).padStart(11)} |`;
  console.log(`
analyzer over one 1h window (medians of ${ROUNDS}), ${q.count} predictions, ${q.labeled} labeled; ${tickBig.slices} slices of ${INTERVAL_MS / 1000} s, late horizon ${HORIZON_MS / 1000} s:
| what                                         | predictions | seconds | peak RSS MB |
|----------------------------------------------|-------------|---------|-------------|
${row('tick (census + 1 new slice + merge + finish)', small, ts!, tickSmall.peakMb)}
${row('full pass (collect whole window + finish)', small, fs!, fullSmall.peakMb)}
${row('tick (census + 1 new slice + merge + finish)', N, tb!, tickBig.peakMb)}
${row('full pass (collect whole window + finish)', N, fb!, full.peakMb)}
${row('naive (scroll everything, compute here)', N, n!, nv.peakMb)}
cold start (every slice collected once): ${tickSmall.coldSeconds.toFixed(1)} s at ${small}, ${tickBig.coldSeconds.toFixed(1)} s at ${N}
service tick: naive/tick ${(n! / tb!).toFixed(1)}x (target >= 10x); tick ${N}/${small}: ${(tb! / ts!).toFixed(2)}x (target <= 2x)
full pass:    naive/full ${(n! / fb!).toFixed(1)}x; full ${N}/${small}: ${(fb! / fs!).toFixed(2)}x
results agree: tick vs full pass ${agree.toExponential(1)}, full pass vs naive ${worst.toExponential(1)} (largest differences; limit 1e-9)
analyzer processes alone: mlmon analyze (full pass) peak RSS ${analyzerMb.toFixed(0)} MB; service (cold start + a tick, ${service.count} predictions in its window) peak RSS ${service.mb.toFixed(0)} MB (target < 300 MB); the RSS column above is the bench process, generated data included`);
} finally {
  clearInterval(rssTimer);
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }, { ignore: [404] }).catch(() => ({})));
  if (indices.length) await client.indices.delete({ index: indices.join(',') });
  const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
  for (const tpl of templates.index_templates ?? []) await client.indices.deleteIndexTemplate({ name: tpl.name });
  const components = await client.cluster.getComponentTemplate({ name: `${prefix}@*` }, { ignore: [404] });
  for (const c of components.component_templates ?? []) await client.cluster.deleteComponentTemplate({ name: c.name });
  await client.close();
  rmSync(work, { recursive: true, force: true });
}
