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
import { setTimeout as sleep } from 'node:timers/promises';
import { quantile } from 'simple-statistics';
import { waitUntil } from '@mlmon/runtime';
import { benchStack, finished } from './stack.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const WINDOW_S = 30;
const FRESHNESS_S = 20;
const REST_S = WINDOW_S + FRESHNESS_S + 10;
const stack = await benchStack('loop', {
  env: {
    MLMON_ANALYZER_INTERVAL: '2s',
    MLMON_ANALYZER_WINDOWS: `${WINDOW_S}s,1h`,
    MLMON_RULES_INTERVAL: '5s',
    MLMON_REMEDIATOR_COOLDOWN: '1s',
    MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: '1000',
  },
  // The canary rule reads the compressed window and can act on every run.
  tune: (id, watch) => {
    if (id !== 'canary-worse') return;
    Object.assign(watch.metadata, { window: `${WINDOW_S}s`, freshness: `${FRESHNESS_S}s` });
    for (const action of Object.values(watch.actions)) action.throttle_period = '1s';
  },
});
const { log, mlmon } = stack;
const first = async (dataset: string, since: number, filter: object[]) => {
  const hit = await stack.first(dataset, since, filter);
  return hit ? Date.parse(hit['@timestamp']) : undefined;
};

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
  await stack.down();
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
