/**
 * What one analysis pass costs, the aggregation way against the naive way, on
 * the same generated window in the same run:
 *
 *   aggregation  analyzeWindow(): a handful of searches whose answers are
 *                buckets and sums (the analyzer's real pass);
 *   naive        scroll every prediction and labeled document of the window
 *                out of Elasticsearch and compute the same figures in the
 *                process (same bins, same formulas), then the results are
 *                compared: they must agree to 1e-9.
 *
 * Data: N predictions spread over one hour (30 features, float32 values as the
 * index stores them) and 0.3·N feedback events, bulk-indexed with the client's
 * helpers.bulk under a fresh prefix, then joined by the analyzer's Joiner
 * (timed apart: it runs once per feedback, not once per pass). The pass is
 * timed at 0.1·N and again at N (medians of 3), with the process's peak RSS.
 * Everything under the prefix is deleted at the end.
 *
 *   ES_URL=http://127.0.0.1:9200 npm run bench:analyzer                 # N = 1,000,000
 *   ES_URL=http://127.0.0.1:9200 npm run bench:analyzer -- --scale 0.1  # N = 100,000, quick
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, loadEsConfig } from '@mlmon/runtime';
import { setupTemplates } from '@mlmon/contract';
import {
  DEFAULT_SETTINGS,
  Joiner,
  StateFile,
  analyzeWindow,
  aucFromHistograms,
  binCounts,
  countsBelow,
  ensureLabeledTemplate,
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
const ROUNDS = 3;
const AUC_BIN = 2 ** -6;

const client = createEsClient(loadEsConfig(), { name: 'mlmon-bench-analyzer', requestTimeout: 600_000 });
const prefix = `bench-analyzer-${randomBytes(3).toString('hex')}`;
const reference = loadReference(new URL('../model/artifacts/reference_profile.json', import.meta.url).pathname);
const names = reference.featureNames;
const end = new Date(Math.floor(Date.now() / 1000) * 1000);
const window = { start: new Date(end.getTime() - 3_600_000), end, name: '1h' };
const log = (m: string) => console.log(`[bench:analyzer] ${m}`);

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

function uuidv7(ms: number): string {
  const h = ms.toString(16).padStart(12, '0') + '7' + randomBytes(9).toString('hex').slice(0, 19);
  const v = h.slice(0, 16) + ((parseInt(h[16]!, 16) & 3) | 8).toString(16) + h.slice(17, 32);
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}

/** Predictions from the reference sample with noise (and two features shifted), plus feedback for 30% of them. */
async function generate(from: number, to: number): Promise<void> {
  const started = Date.now();
  let made = 0;
  const feedback: Array<{ id: string; at: number; y: string }> = [];
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
  log(`indexed ${to - from} predictions and ${feedback.length} feedback in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function bulk<T extends object>(c: Client, datasource: AsyncIterator<T> | T[], action: (d: T) => object): Promise<void> {
  const stats = await c.helpers.bulk<T>({ datasource, onDocument: action as never, flushBytes: 4 * 1024 * 1024, concurrency: 2, refreshOnCompletion: true });
  if (stats.failed > 0) throw new Error(`${stats.failed} documents failed to index`);
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

/** The naive pass: every document of the window out through scroll, the same figures computed here. */
async function naive(): Promise<{ accuracy: number; log_loss: number; brier: number; roc_auc: number; avg_score: number; estimated_accuracy: number; psi: number[]; ks: number[]; p: number[] }> {
  const range = { range: { '@timestamp': { gte: window.start.toISOString(), lt: window.end.toISOString() } } };
  const buckets = names.map((f) => new Array<number>(reference.features.get(f)!.boundaries.length + 1).fill(0));
  let count = 0;
  let scoreSum = 0;
  let confident = 0;
  for await (const hit of client.helpers.scrollDocuments<{ mlmon: { prediction: { score: number; features: Record<string, number> } } }>({
    index: `${prefix}-predictions-*`,
    size: 5000,
    query: range,
    _source: ['mlmon.prediction.score', 'mlmon.prediction.features'],
  })) {
    const p = hit.mlmon.prediction;
    count += 1;
    scoreSum += p.score;
    confident += Math.max(p.score, 1 - p.score);
    names.forEach((f, i) => {
      buckets[i]![bucketOf(reference.features.get(f)!, Math.fround(p.features[f]!))]! += 1;
    });
  }
  let labeled = 0;
  let correct = 0;
  let ll = 0;
  let br = 0;
  const pos = new Map<number, number>();
  const neg = new Map<number, number>();
  for await (const hit of client.helpers.scrollDocuments<{ mlmon: { labeled: { positive: number; correct: number; log_loss: number; brier: number; logit: number } } }>({
    index: `${prefix}-labeled-*`,
    size: 5000,
    query: { bool: { filter: [range, { term: { 'mlmon.labeled.status': 'joined' } }] } },
    _source: ['mlmon.labeled'],
  })) {
    const l = hit.mlmon.labeled;
    labeled += 1;
    correct += l.correct;
    ll += l.log_loss;
    br += l.brier;
    const bin = Math.floor(l.logit / AUC_BIN) * AUC_BIN;
    const m = l.positive ? pos : neg;
    m.set(bin, (m.get(bin) ?? 0) + 1);
  }
  const drift = names.map((f, i) => {
    const ref = reference.features.get(f)!;
    const below = countsBelow(ref, buckets[i]!);
    const ks = ksStatistic(ref, below, count);
    return { psi: psi(binCounts(ref, below, count), referenceBinCounts(ref), DEFAULT_SETTINGS.psiFloor), ks, p: ksPValue(ks, ref.n, count) };
  });
  return {
    accuracy: correct / labeled,
    log_loss: ll / labeled,
    brier: br / labeled,
    roc_auc: aucFromHistograms(pos, neg)!.auc,
    avg_score: scoreSum / count,
    estimated_accuracy: confident / count,
    psi: drift.map((d) => d.psi),
    ks: drift.map((d) => d.ks),
    p: drift.map((d) => d.p),
  };
}

/** Which range bucket a value falls in: 0 is below the first boundary. */
function bucketOf(ref: ReferenceDistribution, x: number): number {
  let lo = 0;
  let hi = ref.boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ref.boundaries[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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

function compare(agg: WindowReport, nv: Awaited<ReturnType<typeof naive>>): number {
  const g = agg.versions[0]!;
  const pairs: Array<[string, number, number]> = [
    ['accuracy', g.quality.accuracy!, nv.accuracy],
    ['log_loss', g.quality.log_loss!, nv.log_loss],
    ['brier', g.quality.brier!, nv.brier],
    ['roc_auc', g.quality.roc_auc!, nv.roc_auc],
    ['avg_score', g.quality.avg_score!, nv.avg_score],
    ['estimated_accuracy', g.quality.estimated_accuracy!, nv.estimated_accuracy],
    ...g.drift.features.flatMap((d, i): Array<[string, number, number]> => [
      [`${d.feature}.psi`, d.psi, nv.psi[i]!],
      [`${d.feature}.ks`, d.ks, nv.ks[i]!],
      [`${d.feature}.p_value`, d.p_value, nv.p[i]!],
    ]),
  ];
  const worst = Math.max(...pairs.map(([, a, b]) => Math.abs(a - b)));
  const bad = pairs.filter(([, a, b]) => Math.abs(a - b) > 1e-9);
  if (bad.length > 0) throw new Error(`aggregation and naive passes disagree: ${bad.slice(0, 5).map(([k, a, b]) => `${k} ${a} vs ${b}`).join('; ')}`);
  return worst;
}

try {
  await setupTemplates(client, { prefix });
  await ensureLabeledTemplate(client, prefix);
  const ctx = { client, prefix, reference, settings: DEFAULT_SETTINGS, requestCache: false };
  const small = Math.round(N / 10);
  await generate(0, small);
  let t = Date.now();
  let joined = await new Joiner(client, prefix, reference.positiveLabel, new StateFile(undefined), log).run();
  log(`join of ${joined.feedbackRead} feedback: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const aggSmall = await timed(`aggregation pass at ${small}`, () => analyzeWindow(ctx, window));
  await generate(small, N);
  t = Date.now();
  const joiner = new Joiner(client, prefix, reference.positiveLabel, new StateFile(undefined), log);
  joined = await joiner.run();
  log(`join of ${joined.feedbackRead} feedback (again from the start, idempotent): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const agg = await timed(`aggregation pass at ${N}`, () => analyzeWindow(ctx, window));
  const nv = await timed(`naive pass at ${N}`, () => naive());
  const worst = compare(agg.result, nv.result);
  const analyzerMb = analyzerProcessPeakMb();
  const a = median(agg.seconds);
  const n = median(nv.seconds);
  const s = median(aggSmall.seconds);
  console.log(`
analyzer pass over one 1h window (medians of ${ROUNDS}), ${agg.result.versions[0]!.quality.count} predictions, ${agg.result.versions[0]!.quality.labeled} labeled:
| pass        | predictions | seconds | peak RSS MB |
|-------------|-------------|---------|-------------|
| aggregation | ${small}      | ${s.toFixed(2)}    | ${aggSmall.peakMb.toFixed(0)}         |
| aggregation | ${N}     | ${a.toFixed(2)}    | ${agg.peakMb.toFixed(0)}         |
| naive       | ${N}     | ${n.toFixed(2)}   | ${nv.peakMb.toFixed(0)}         |
naive/aggregation ${(n / a).toFixed(1)}x (target >= 10x); aggregation ${N}/${small}: ${(a / s).toFixed(2)}x (target <= 2x); results agree (largest difference ${worst.toExponential(1)})
analyzer process (mlmon analyze over the same window, alone): peak RSS ${analyzerMb.toFixed(0)} MB (target < 300 MB); the RSS column above is the bench process, generated data included`);
} finally {
  clearInterval(rssTimer);
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }, { ignore: [404] }).catch(() => ({})));
  if (indices.length) await client.indices.delete({ index: indices.join(',') });
  const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` }, { ignore: [404] });
  for (const tpl of templates.index_templates ?? []) await client.indices.deleteIndexTemplate({ name: tpl.name });
  const components = await client.cluster.getComponentTemplate({ name: `${prefix}@*` }, { ignore: [404] });
  for (const c of components.component_templates ?? []) await client.cluster.deleteComponentTemplate({ name: c.name });
  await client.close();
}
