/**
 * Alert-to-action latency of the closed loop (issue 11): the bad-canary
 * scenario, repeated, on the real local stack (nginx, replicas, shipper,
 * analyzer, rule runner, remediator). For each run, from the moment the bad
 * traffic starts: when the data crossed the threshold (the analyzer's first
 * metric saying the canary is significantly worse), when the rule fired (the
 * alert event), and when the action completed (the remediator's `executed`
 * rollback). Target: action within 30 s of the bad traffic starting, p99.
 *
 *   MLMON_ES_URL=http://127.0.0.1:9200 npm run bench:loop [-- --runs 10]
 *
 * Time is compressed as an operator would tune it: the analyzer ticks every
 * 2 s over a 30 s window, the runner checks every 5 s, and the canary rule
 * reads that 30 s window (a copy of the rules with that metadata; throttling
 * shortened so that every run can act). Between runs the stack rests until the
 * previous run's bad traffic has left the window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { quantile } from 'simple-statistics';
import { createEsClient, esUrl, freePortBlock, loadEsConfig, waitUntil } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'cli/dist/main.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const WINDOW_S = 30;
const FRESHNESS_S = 20;
const REST_S = WINDOW_S + FRESHNESS_S + 10;
const prefix = `bench-loop-${Math.random().toString(36).slice(2, 8)}`;
const runDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-loop-')), 'run');
const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-bench-loop-rules-'));
const config = loadEsConfig();
const client = createEsClient(config, { name: 'mlmon-bench-loop' });
const env = {
  ...process.env,
  MLMON_ES_URL: esUrl(config),
  MLMON_INDEX_PREFIX: prefix,
  MLMON_RUN_DIR: runDir,
  MLMON_ANALYZER_INTERVAL: '2s',
  MLMON_ANALYZER_WINDOWS: `${WINDOW_S}s,1h`,
  MLMON_RULES_INTERVAL: '5s',
  MLMON_RULES_DIR: rulesDir,
  MLMON_REMEDIATOR_COOLDOWN: '1s',
  MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '1000',
};
const log = (m: string) => console.log(`[bench:loop] ${m}`);

function mlmon(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}
const finished = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', resolve));

/** The first event of a dataset after `since` matching `filter`: its @timestamp in ms. */
async function first(dataset: string, since: number, filter: object[]): Promise<number | undefined> {
  const res = await client.search<{ '@timestamp': string }>(
    {
      index: `${prefix}-*`,
      size: 1,
      sort: [{ '@timestamp': 'asc' }],
      query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { range: { '@timestamp': { gte: new Date(since).toISOString() } } }, ...filter] } },
    },
    { ignore: [404] },
  );
  const hit = res.hits?.hits[0]?._source;
  return hit ? Date.parse(hit['@timestamp']) : undefined;
}

async function oneRun(i: number): Promise<{ data: number; alert: number; action: number }> {
  const t0 = Date.now();
  const traffic = mlmon(['simulate', 'bad-model', '--mode', 'canary', '--weight', '50', '--rate', '40', '--duration', '90', '--feedback', '1', '--feedback-delay', '0.5']);
  const marks: { data?: number; alert?: number; action?: number } = {};
  try {
    await waitUntil(
      async () => {
        // The window the rule reads: the 1 h window still holds earlier runs' bad canary.
        marks.data ??= await first('mlmon.quality', t0, [
          { term: { 'mlmon.model.role': 'canary' } },
          { term: { 'mlmon.window.name': `${WINDOW_S}s` } },
          { term: { 'mlmon.quality.vs_active.significantly_worse': true } },
        ]);
        marks.alert ??= await first('mlmon.alert', t0, [{ term: { 'mlmon.alert.rule': 'canary-worse' } }]);
        marks.action ??= await first('mlmon.remediation', t0, [{ term: { 'mlmon.remediation.action': 'rollback' } }, { term: { 'mlmon.remediation.decision': 'executed' } }]);
        return marks.data !== undefined && marks.alert !== undefined && marks.action !== undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `run ${i}: data, alert and action` },
    );
  } finally {
    traffic.kill('SIGTERM');
    await finished(traffic);
  }
  const s = (t: number) => (t - t0) / 1000;
  const r = { data: s(marks.data!), alert: s(marks.alert!), action: s(marks.action!) };
  log(`run ${i}/${RUNS}: threshold crossed in the data after ${r.data.toFixed(1)} s, alert ${r.alert.toFixed(1)} s, action done ${r.action.toFixed(1)} s`);
  return r;
}

/** The shipped rules, with the canary rule reading the compressed window and able to act on every run. */
function tunedRules(): void {
  cpSync(path.join(REPO_ROOT, 'watcher-rules/watches'), rulesDir, { recursive: true });
  const file = path.join(rulesDir, 'canary-worse.json');
  const watch = JSON.parse(readFileSync(file, 'utf8')) as { metadata: Record<string, unknown>; actions: Record<string, { throttle_period?: string }> };
  Object.assign(watch.metadata, { window: `${WINDOW_S}s`, freshness: `${FRESHNESS_S}s` });
  for (const action of Object.values(watch.actions)) action.throttle_period = '1s';
  writeFileSync(file, JSON.stringify(watch));
}

tunedRules();
const port = await freePortBlock(15);
log(`starting the stack (prefix ${prefix}, run folder ${runDir})`);
const up = mlmon(['up', '--replicas', '2', '--max-replicas', '4', '--port', String(port), '--replica-port', String(port + 11), '--remediator-port', String(port + 2)]);
up.stdout!.pipe(process.stdout);
up.stderr!.pipe(process.stderr);
if ((await finished(up)) !== 0) throw new Error('mlmon up failed');
const results: Array<{ data: number; alert: number; action: number }> = [];
try {
  for (let i = 1; i <= RUNS; i++) {
    results.push(await oneRun(i));
    if (i === RUNS) break;
    // Until the bad canary's traffic has left the analyzer's window, and the metrics that still
    // held it have left the rule's freshness, the next run would start "already crossed".
    log(`resting ${REST_S} s so that run ${i}'s traffic leaves the ${WINDOW_S} s window and the rule's ${FRESHNESS_S} s freshness`);
    await sleep(REST_S * 1000);
  }
} finally {
  await finished(mlmon(['down']));
  const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }, { ignore: [404] }).catch(() => ({})));
  if (indices.length) await client.indices.delete({ index: indices.join(',') });
  await client.close();
}
const row = (name: string, xs: number[]) => `| ${name.padEnd(36)} | ${quantile(xs, 0.5).toFixed(1).padStart(7)} | ${quantile(xs, 0.99).toFixed(1).padStart(7)} | ${Math.max(...xs).toFixed(1).padStart(7)} |`;
const action = results.map((r) => r.action);
console.log(`
bad canary → rollback, ${results.length} runs, seconds from the bad traffic starting:
| step                                 |     p50 |     p99 |     max |
|--------------------------------------|---------|---------|---------|
${row('threshold crossed in the data', results.map((r) => r.data))}
${row('alert event (written once its actions ran)', results.map((r) => r.alert))}
${row('action complete (canary removed)', action)}
action p99 ${quantile(action, 0.99).toFixed(1)} s (target <= 30 s): ${quantile(action, 0.99) <= 30 ? 'met' : 'NOT met'}`);
