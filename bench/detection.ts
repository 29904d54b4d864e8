/**
 * Detection delay of a sudden shift (issue 21): on the real local stack with
 * the shipped intervals (analyzer every 15 s over 1m,5m,1h; the judgment rules
 * every 15 s on the 1m window), steady holdout traffic at 100 req/s, then
 * `simulate drift` at 100 req/s. For each run, from the shift's start (the
 * first shifted prediction indexed): when the analyzer's 1m window first
 * crossed each rule's reference threshold (the data), and when each drift
 * rule's first alert came. Target: a drift rule within 120 s.
 *
 *   MLMON_ES_URL=http://127.0.0.1:9200 npm run bench:detection [-- --runs 3]
 *   MLMON_BENCH_WARMUP=5m npm run bench:detection     # five minutes of steady before each shift
 *
 * The warm-up only has to fill the window the rules read (1m) with steady
 * traffic, and between runs to flush the previous shift out of it (the window,
 * an analyzer tick and the rules' freshness): 120 s by default. The remediator runs dry (a retrain per run would take the cores the
 * measurement runs on), and the copy of the rules the runner reads has short
 * throttling so that every run can fire again; nothing else is tuned.
 */
import { median } from 'simple-statistics';
import { waitUntil } from '@mlmon/runtime';
import { benchConfig } from './settings.js';
import { benchStack, finished } from './stack.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const WARMUP_S = benchConfig().MLMON_BENCH_WARMUP / 1000;
const RATE = 100;
const TARGET_S = 120;
/** How long to wait for every drift rule before a run counts a rule as not fired. */
const PATIENCE_S = 180;
const RULES = ['drift-share', 'drift-psi', 'multivariate-drift'] as const;
type Rule = (typeof RULES)[number];

interface Doc {
  '@timestamp': string;
  mlmon: {
    drift?: Record<string, number | boolean | string | undefined>;
    alert?: { rule: string };
  };
}

const stack = await benchStack('detection', {
  env: { MLMON_REMEDIATOR_DRY_RUN: 'true' },
  tune: (_id, watch) => {
    for (const action of Object.values(watch.actions)) if (action.throttle_period) action.throttle_period = '5s';
  },
});
const { log, mlmon, first, events } = stack;

/** When the analyzer's own documents first said what each rule compares: its condition held in the data. */
async function crossings(since: number): Promise<Partial<Record<Rule, number>>> {
  const window = { term: { 'mlmon.window.name': '1m' } };
  const active = { term: { 'mlmon.model.role': 'active' } };
  const summaries = await events<Doc>('mlmon.drift', since, [window, active, { term: { 'mlmon.drift.feature': '_all' } }], 200);
  const at = (pred: (d: NonNullable<Doc['mlmon']['drift']>) => boolean) => {
    const hit = summaries.find((s) => pred(s.mlmon.drift!));
    return hit ? Date.parse(hit['@timestamp']) : undefined;
  };
  const psi = await first<Doc>('mlmon.drift', since, [window, active, { term: { 'mlmon.drift.psi_alert': true } }]);
  const out: Partial<Record<Rule, number>> = {};
  const share = at((d) => Number(d.drifted_share) > Number(d.drifted_share_threshold));
  const reconstruction = at((d) => Number(d.reconstruction_error) > Number(d.reconstruction_error_threshold_upper));
  if (share !== undefined) out['drift-share'] = share;
  if (reconstruction !== undefined) out['multivariate-drift'] = reconstruction;
  if (psi) out['drift-psi'] = Date.parse(psi['@timestamp']);
  return out;
}

interface Run {
  data: Partial<Record<Rule, number>>;
  alert: Partial<Record<Rule, number>>;
  /** Drift alerts while steady traffic ran; only the first run's count: later warm-ups begin with the last shift still in the window. */
  steadyAlerts?: string[];
}

async function oneRun(i: number): Promise<Run> {
  const steadyFrom = Date.now();
  log(`run ${i}/${RUNS}: ${WARMUP_S} s of steady holdout traffic at ${RATE} req/s`);
  const steady = mlmon(['simulate', 'steady', '--rate', String(RATE), '--duration', String(WARMUP_S), '--feedback', '0']);
  if ((await finished(steady)) !== 0) throw new Error('simulate steady failed');
  const steadyAlerts = (await events<Doc>('mlmon.alert', steadyFrom)).map((a) => a.mlmon.alert!.rule);
  const spawned = Date.now();
  const traffic = mlmon(['simulate', 'drift', '--rate', String(RATE), '--duration', String(PATIENCE_S + 30), '--feedback', '0']);
  const alert: Partial<Record<Rule, number>> = {};
  let t0: number | undefined;
  try {
    // The shift starts with its first prediction: the steady run before it has ended.
    const firstShifted = await waitUntil(() => first<Doc>('mlmon.prediction', spawned), { timeoutMs: 30_000, intervalMs: 200, what: 'the first shifted prediction indexed' });
    t0 = Date.parse(firstShifted['@timestamp']);
    await waitUntil(
      async () => {
        for (const rule of RULES) {
          if (alert[rule] !== undefined) continue;
          const hit = await first<Doc>('mlmon.alert', t0!, [{ term: { 'mlmon.alert.rule': rule } }]);
          if (hit) alert[rule] = Date.parse(hit['@timestamp']);
        }
        return RULES.every((r) => alert[r] !== undefined) || Date.now() - t0! > PATIENCE_S * 1000;
      },
      { timeoutMs: (PATIENCE_S + 60) * 1000, intervalMs: 1000, what: `run ${i}: the drift rules' alerts` },
    );
  } finally {
    traffic.kill('SIGTERM');
    await finished(traffic);
  }
  const data = await crossings(t0);
  const s = (t: number | undefined) => (t === undefined ? 'none' : `${((t - t0) / 1000).toFixed(1)} s`);
  for (const rule of RULES) log(`run ${i}: ${rule.padEnd(18)} data crossed after ${s(data[rule])}, alert after ${s(alert[rule])}`);
  const rel = (m: Partial<Record<Rule, number>>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, (v - t0!) / 1000])) as Partial<Record<Rule, number>>;
  return { data: rel(data), alert: rel(alert), ...(i === 1 ? { steadyAlerts } : {}) };
}

const runs: Run[] = [];
try {
  for (let i = 1; i <= RUNS; i++) runs.push(await oneRun(i));
} finally {
  await stack.down();
}

const cell = (xs: Array<number | undefined>) => {
  const got = xs.filter((x): x is number => x !== undefined);
  const missed = xs.length - got.length;
  if (got.length === 0) return '   none |        |        ';
  return `${median(got).toFixed(1).padStart(7)} | ${Math.min(...got).toFixed(1).padStart(6)} | ${Math.max(...got).toFixed(1).padStart(6)}${missed ? ` (${missed} of ${xs.length} never)` : ''}`;
};
const firstRule = runs.map((r) => Math.min(...RULES.map((rule) => r.alert[rule] ?? Infinity)));
const firstMedian = median(firstRule.map((x) => (Number.isFinite(x) ? x : PATIENCE_S)));
console.log(`
simulate drift at ${RATE} req/s after ${WARMUP_S} s of steady, ${runs.length} runs, seconds from the shift's first prediction:
| rule               | step                        |  median |    min |    max |
|--------------------|-----------------------------|---------|--------|--------|
${RULES.flatMap((rule) => [
  `| ${rule.padEnd(18)} | 1m window crossed (data)    | ${cell(runs.map((r) => r.data[rule]))} |`,
  `| ${rule.padEnd(18)} | first alert                 | ${cell(runs.map((r) => r.alert[rule]))} |`,
]).join('\n')}
| any drift rule     | first alert                 | ${cell(firstRule.map((x) => (Number.isFinite(x) ? x : undefined)))} |
first drift alert, median ${firstMedian.toFixed(1)} s, worst ${Math.max(...firstRule).toFixed(1)} s (target <= ${TARGET_S} s): ${Math.max(...firstRule) <= TARGET_S ? 'met in every run' : 'NOT met in every run'}
alerts during the first steady warm-up (any rule): ${runs[0]?.steadyAlerts?.join(', ') || 'none'}`);
