/**
 * What a prediction costs (issue 24): CPU seconds of every process of the
 * local stack and stored bytes, per 100k predictions, on a cluster of its own.
 *
 * For each case (request rate × analyzer windows × template variant) it starts
 * the real stack (`mlmon up`: nginx, two replicas, shipper, analyzer, rule
 * runner, remediator) under a fresh index prefix, drives `simulate steady` for
 * a fixed number of predictions (no feedback), waits until Elasticsearch has
 * indexed every prediction and nginx line, and reads:
 *   - CPU from /proc, per process and its children (nginx's workers), from the
 *     first request to the last document indexed;
 *   - stored bytes per document of each index family after a force merge to
 *     one segment (what a day's index weighs once it is no longer written).
 *
 * The template variants are `current` (this checkout's templates) and, with
 * MLMON_BENCH_BASELINE=<git ref>, `baseline`: that commit's component
 * templates installed above this checkout's (priority 300), so both run side by
 * side on one cluster, in turns, and their ratio is not at the mercy of what
 * else the machine does. Rounds repeat every case; tables show medians.
 *
 *   npm run bench:cost
 *   MLMON_BENCH_BASELINE=land MLMON_BENCH_ROUNDS=1 npm run bench:cost
 *   MLMON_BENCH_COST_PREDICTIONS=12000 MLMON_BENCH_COST_RATES=300 npm run bench:cost
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import { createEsClient, freePort, loadEsConfig, waitUntil } from '@mlmon/runtime';
import { INDEX_FAMILIES, desiredTemplates, familyPattern, missingFieldTypes, type ComponentSource, type IndexFamily } from '@mlmon/contract';
import { startInstance, stopInstance } from '@mlmon/elasticsearch';
import { treeCpu, treeCpuSince } from './proc-cpu.js';
import { benchConfig } from './settings.js';
import { benchStack, finished } from './stack.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const settings = benchConfig();
const PREDICTIONS = settings.MLMON_BENCH_COST_PREDICTIONS;
const RATES = settings.MLMON_BENCH_COST_RATES;
const WINDOWS = settings.MLMON_BENCH_COST_WINDOWS;
const BASELINE = settings.MLMON_BENCH_BASELINE;
const ROUNDS = settings.MLMON_BENCH_ROUNDS;
const INSTANCE = `bench-cost-${process.pid}`;
const log = (m: string) => console.log(`[bench:cost] ${m}`);

type Variant = 'baseline' | 'current';
const VARIANTS: Variant[] = BASELINE ? ['baseline', 'current'] : ['current'];

// --- the cluster: its own, so that its CPU is this benchmark's alone ---------

const instance = await startInstance({ name: INSTANCE, port: await freePort(), fresh: true, log });
process.env.MLMON_ES_URL = instance.url;
const client = createEsClient({ ...loadEsConfig(), MLMON_ES_URL: instance.url }, { name: 'mlmon-bench-cost' });

/** A component template as it was at `ref`. */
const componentsAt =
  (ref: string): ComponentSource =>
  (part) =>
    JSON.parse(execFileSync('git', ['show', `${ref}:common/contract/templates/components/${part}.json`], { cwd: REPO_ROOT, encoding: 'utf8' })) as ReturnType<ComponentSource>;

/** `ref`'s templates for `prefix`'s indices, above the ones `mlmon up` installs, under names of their own. */
async function installBaseline(prefix: string, ref: string): Promise<void> {
  const own = `${prefix}.baseline`;
  for (const t of desiredTemplates(own, await missingFieldTypes(client), componentsAt(ref))) {
    if (t.kind === 'component') await client.cluster.putComponentTemplate({ name: t.name, ...t.body });
    else {
      const family = t.name.slice(own.length + 1) as IndexFamily;
      await client.indices.putIndexTemplate({ name: t.name, body: { ...t.body, index_patterns: [familyPattern(prefix, family)], priority: 300 } });
    }
  }
}

async function indexedTotal(prefix: string, family: IndexFamily): Promise<number> {
  const stats = await client.indices.stats({ index: familyPattern(prefix, family), metric: 'indexing' }, { ignore: [404] });
  return stats._all?.primaries?.indexing?.index_total ?? 0;
}

interface FamilyStore {
  docs: number;
  bytes: number;
  bytes_per_doc: number;
}

/** Bytes per document of each family once merged to one segment, as a finished daily index ends up. */
async function storedBytes(prefix: string): Promise<Partial<Record<IndexFamily, FamilyStore>>> {
  await client.indices.refresh({ index: `${prefix}-*` });
  await client.indices.forcemerge({ index: `${prefix}-*`, max_num_segments: 1 });
  const out: Partial<Record<IndexFamily, FamilyStore>> = {};
  for (const family of INDEX_FAMILIES) {
    const stats = await client.indices.stats({ index: familyPattern(prefix, family), metric: ['store', 'docs'] }, { ignore: [404] });
    const docs = stats._all?.primaries?.docs?.count ?? 0;
    const bytes = stats._all?.primaries?.store?.size_in_bytes ?? 0;
    if (docs > 0) out[family] = { docs, bytes, bytes_per_doc: bytes / docs };
  }
  return out;
}

interface StackProcess {
  name: string;
  pid: number;
}

async function stackProcesses(runDir: string): Promise<StackProcess[]> {
  const file = JSON.parse(readFileSync(path.join(runDir, 'stack.json'), 'utf8')) as { controlUrl: string; adminToken: string };
  const res = await fetch(`${file.controlUrl}/status`, { headers: { authorization: `Bearer ${file.adminToken}` } });
  const { processes } = (await res.json()) as { processes: Array<{ name: string; pid?: number }> };
  return processes.filter((p): p is StackProcess => p.pid !== undefined);
}

interface CaseResult {
  variant: Variant;
  rate: number;
  windows: string;
  round: number;
  predictions: number;
  seconds: number;
  analyzer_ticks: number;
  /** CPU seconds per 100k predictions, by process (replicas summed as `api`, and each on its own). */
  cpu_per_100k: Record<string, number>;
  store: Partial<Record<IndexFamily, FamilyStore>>;
}

async function runCase(variant: Variant, rate: number, windows: string, round: number): Promise<CaseResult> {
  const label = `${variant} ${rate}/s windows ${windows} round ${round}`;
  const stack = await benchStack('cost', {
    env: { MLMON_ANALYZER_WINDOWS: windows },
    tune: () => {},
    beforeUp: BASELINE && variant === 'baseline' ? (prefix) => installBaseline(prefix, BASELINE) : undefined,
  });
  try {
    const processes = await stackProcesses(stack.runDir);
    const cpuOf = (): Record<string, Map<number, number>> => ({ elasticsearch: treeCpu(instance.pid!), ...Object.fromEntries(processes.map((p) => [p.name, treeCpu(p.pid)])) });
    const ticksBefore = await analyzerTicks(stack.prefix);
    const before = cpuOf();
    const t0 = Date.now();
    const seconds = PREDICTIONS / rate;
    log(`${label}: ${PREDICTIONS} predictions at ${rate}/s (${seconds.toFixed(0)} s)`);
    const traffic = stack.mlmon(['simulate', 'steady', '--rate', String(rate), '--duration', String(seconds), '--feedback', '0']);
    traffic.stdout!.on('data', (d: Buffer) => {
      const last = d.toString().trim().split('\n').at(-1);
      if (last) process.stdout.write(`\r[bench:cost] ${label}: ${last.slice(0, 100)}   `);
    });
    if ((await finished(traffic)) !== 0) throw new Error(`${label}: simulate failed`);
    process.stdout.write('\n');
    // A request still in flight when simulate stops may never be logged: done when the counts stop moving.
    let sent = 0;
    let last = '';
    let still = 0;
    await waitUntil(
      async () => {
        const [p, n] = await Promise.all([indexedTotal(stack.prefix, 'predictions'), indexedTotal(stack.prefix, 'nginx')]);
        sent = p;
        still = `${p}/${n}` === last ? still + 1 : 0;
        last = `${p}/${n}`;
        return p >= PREDICTIONS * 0.99 && n >= p && still >= 12;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `${label}: every prediction and nginx line indexed` },
    );
    const after = cpuOf();
    const elapsed = (Date.now() - t0) / 1000;
    const ticks = (await analyzerTicks(stack.prefix)) - ticksBefore;
    const per100k = (s: number) => (s * 100_000) / sent;
    const cpu: Record<string, number> = {};
    for (const [name, v] of Object.entries(after)) cpu[name] = per100k(treeCpuSince(before[name] ?? new Map(), v));
    cpu.api = Object.entries(cpu)
      .filter(([n]) => n.startsWith('replica-'))
      .reduce((a, [, v]) => a + v, 0);
    log(`${label}: indexed in ${elapsed.toFixed(1)} s; Elasticsearch ${cpu.elasticsearch!.toFixed(1)} CPU s per 100k; merging`);
    const store = await storedBytes(stack.prefix);
    log(`${label}: ${store.predictions?.bytes_per_doc.toFixed(0)} bytes per prediction, ${store.nginx?.bytes_per_doc.toFixed(0)} per nginx line`);
    return { variant, rate, windows, round, predictions: sent, seconds: elapsed, analyzer_ticks: ticks, cpu_per_100k: cpu, store };
  } finally {
    await stack.down();
  }
}

/** Analyzer ticks so far: one quality document per window and version each tick, so count the distinct tick times. */
async function analyzerTicks(prefix: string): Promise<number> {
  const res = await client.search(
    { index: familyPattern(prefix, 'metrics'), size: 0, query: { term: { 'event.dataset': 'mlmon.quality' } }, aggs: { ticks: { cardinality: { field: '@timestamp' } } } },
    { ignore: [404] },
  );
  return (res.aggregations?.ticks as { value?: number } | undefined)?.value ?? 0;
}

// --- the runs ----------------------------------------------------------------

const results: CaseResult[] = [];
const cases = RATES.flatMap((rate) => WINDOWS.map((windows) => ({ rate, windows })));
const total = cases.length * VARIANTS.length * ROUNDS;
try {
  log(`${total} runs: rates ${RATES.join(', ')}/s × windows ${WINDOWS.join(' | ')} × ${VARIANTS.join(', ')} × ${ROUNDS} round(s), ${PREDICTIONS} predictions each`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of cases) {
      // Variants take turns, the order swapped each round, so neither always runs on a warmer cluster.
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) {
        log(`run ${results.length + 1}/${total}`);
        results.push(await runCase(variant, c.rate, c.windows, round));
      }
    }
  }
} finally {
  await client.close();
  await stopInstance(INSTANCE, { log });
}

// --- the tables ----------------------------------------------------------------

const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
const columns = cases.flatMap((c) => VARIANTS.map((variant) => ({ ...c, variant })));
const of = (col: (typeof columns)[number]) => results.filter((r) => r.variant === col.variant && r.rate === col.rate && r.windows === col.windows);
const colName = (col: (typeof columns)[number]) => `${col.rate}/s ${col.windows}${BASELINE ? ` ${col.variant}` : ''}`;
const processNames = ['elasticsearch', 'nginx', 'api', ...new Set(results.flatMap((r) => Object.keys(r.cpu_per_100k)).values())].filter(
  (n, i, all) => all.indexOf(n) === i && !n.startsWith('replica-'),
);
const replicaNames = [...new Set(results.flatMap((r) => Object.keys(r.cpu_per_100k).filter((n) => n.startsWith('replica-'))))].sort();
const width = Math.max(...columns.map((c) => colName(c).length), 10);
const row = (name: string, cells: string[]) => `| ${name.padEnd(30)} | ${cells.map((c) => c.padStart(width)).join(' | ')} |`;
const rule = `|${'-'.repeat(32)}|${columns.map(() => '-'.repeat(width + 2)).join('|')}|`;

const cpuRows = [...processNames, ...replicaNames].map((n) => row(`${n.startsWith('replica-') ? '  ' : ''}${n}`, columns.map((c) => med(of(c).map((r) => r.cpu_per_100k[n] ?? 0)).toFixed(1))));
const totalRow = row('total', columns.map((c) => med(of(c).map((r) => Object.entries(r.cpu_per_100k).filter(([n]) => !n.startsWith('replica-')).reduce((a, [, v]) => a + v, 0))).toFixed(1)));
const tickRow = row('analyzer CPU ms per tick', columns.map((c) => med(of(c).map((r) => ((r.cpu_per_100k.analyzer ?? 0) * r.predictions) / 100_000 / Math.max(1, r.analyzer_ticks) * 1000)).toFixed(0)));
const storeRows = INDEX_FAMILIES.map((f) => row(`${f} bytes/doc`, columns.map((c) => med(of(c).map((r) => r.store[f]?.bytes_per_doc ?? NaN)).toFixed(0))));
const timeRow = row('seconds (traffic + drain)', columns.map((c) => med(of(c).map((r) => r.seconds)).toFixed(0)));

console.log(`
bench:cost, ${PREDICTIONS} predictions per run, ${ROUNDS} round(s), medians; ${os.cpus().length} cores (shared: absolute CPU figures move with the machine's other load, compare columns of one run)
CPU seconds per 100k predictions (process and its children), from the first request to the last document indexed:
${row('process', columns.map(colName))}
${rule}
${cpuRows.join('\n')}
${totalRow}
${tickRow}
${timeRow}

Stored bytes per document after a force merge to one segment (predictions: per prediction; nginx: per access line):
${row('family', columns.map(colName))}
${rule}
${storeRows.join('\n')}`);

const outDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-cost-'));
mkdirSync(outDir, { recursive: true });
const jsonFile = path.join(outDir, 'cost.json');
writeFileSync(jsonFile, JSON.stringify({ predictions: PREDICTIONS, rates: RATES, windows: WINDOWS, baseline: BASELINE ?? null, rounds: ROUNDS, results }, null, 2));
console.log(`\nJSON: ${jsonFile}`);
