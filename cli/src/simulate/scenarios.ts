import { setTimeout as sleep } from 'node:timers/promises';
import { admin, stackStatus, untilEveryReplica } from '../stack/client.js';
import type { StackFile } from '../stack/stack-file.js';
import { featureStd, loadHoldoutFile, type HoldoutRow } from './holdout.js';
import { boundaryResample, flipRegion, knownAccuracy, labeledAccuracy, pairedExpectation } from './known-truth.js';
import { newTally, runTraffic, type TrafficOptions, type TrafficTally } from './traffic.js';

export const SCENARIOS = ['steady', 'spike', 'drift', 'bad-model', 'replica-crash', 'covariate-shift', 'concept-drift', 'shadow'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface SimulateOptions {
  rate: number;
  duration: number;
  feedback: number;
  feedbackDelay: number;
  /** spike: how many times the base rate the middle third runs at. */
  factor: number;
  /** drift: which features, and by how many training standard deviations. */
  features: string[];
  shift: number;
  /** bad-model: make `broken` the canary at `weight`%, or the active version. */
  mode: 'canary' | 'active';
  weight: number;
  /** replica-crash: which replica gets kill -9. */
  replica: string;
  /** concept-drift: the labels of the `regionShare` of rows with the highest `regionFeature` are flipped. */
  regionFeature: string;
  regionShare: number;
  /** shadow: the version that predicts a copy of each sampled request, and the share sampled. */
  shadow: string;
  sample: number;
}

export const DEFAULT_SIMULATE: SimulateOptions = {
  rate: 50,
  duration: 30,
  feedback: 0.3,
  feedbackDelay: 2,
  factor: 5,
  features: ['mean_radius', 'mean_perimeter', 'mean_area', 'worst_radius'],
  shift: 2,
  mode: 'canary',
  weight: 50,
  replica: 'replica-1',
  regionFeature: 'mean_texture',
  regionShare: 0.3,
  shadow: 'v2',
  sample: 1,
};

async function activeVersion(stack: StackFile): Promise<string> {
  const res = await fetch(`${stack.url}/v1/models`);
  if (!res.ok) throw new Error(`GET /v1/models: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { active: string }).active;
}

const figure = (x: number | undefined) => (x === undefined ? 'unknown' : x.toFixed(3));

/** Before the traffic: the accuracy the active version will realize on these rows, from its known predictions. */
function expectAccuracy(rows: HoldoutRow[], version: string, what: string): void {
  const known = knownAccuracy(rows, version);
  console.log(
    known === undefined
      ? `expected realized accuracy: unknown (holdout.json has no predictions of ${version}); the labeled answers below give it`
      : `expected realized accuracy of ${version} ${what}: ${figure(known)} (from its known predictions on them)`,
  );
}

/** After the traffic: the realized accuracy of the answers that got ground truth, and the command that shows the analyzer's figures. */
function reportAccuracy(tally: TrafficTally, started: Date): void {
  const { labeled, accuracy } = labeledAccuracy(tally);
  console.log(`realized accuracy of the ${labeled} answers that got ground truth: ${figure(accuracy)}`);
  console.log(`compare, once the last labels are indexed: npm run mlmon -- analyze --from ${started.toISOString()} --to ${new Date().toISOString()}`);
}

/** Runs one scenario against a running stack and returns what it measured; each prints its own progress. */
export async function simulate(scenario: Scenario, o: SimulateOptions, stack: StackFile): Promise<TrafficTally> {
  const holdout = loadHoldoutFile();
  const started = new Date();
  const base: TrafficOptions = {
    url: stack.url,
    rows: holdout.rows,
    rate: o.rate,
    seconds: o.duration,
    feedbackFraction: o.feedback,
    feedbackDelayMs: o.feedbackDelay * 1000,
    label: scenario,
  };
  switch (scenario) {
    case 'steady': {
      expectAccuracy(holdout.rows, await activeVersion(stack), 'on the holdout rows this replays');
      const tally = await runTraffic(base);
      reportAccuracy(tally, started);
      return tally;
    }
    case 'covariate-shift': {
      // P(x) moves toward the decision boundary, P(y|x) stays: the model gets less sure and less right,
      // and a label-free estimate that follows its calibrated confidence (CBPE) follows the realized accuracy.
      const version = await activeVersion(stack);
      const n = Math.max(1, Math.round(o.rate * o.duration));
      const rows = boundaryResample(holdout.rows, version, holdout.class_labels.indexOf(holdout.positive_label), n);
      console.log(`covariate shift: ${n} holdout rows drawn with weight exp(-((p - 0.5) / 0.15)^2) + 0.02 on ${version}'s score p, true labels kept`);
      expectAccuracy(rows, version, 'on these rows');
      const tally = await runTraffic({ ...base, rows });
      reportAccuracy(tally, started);
      return tally;
    }
    case 'concept-drift': {
      // P(y|x) changes, P(x) stays: nothing label-free can see it (CBPE keeps its estimate), realized accuracy falls once labels arrive.
      const version = await activeVersion(stack);
      const { rows, above } = flipRegion(holdout.rows, o.regionFeature, o.regionShare, holdout.class_labels);
      console.log(`concept drift: the true label of every holdout row with ${o.regionFeature} >= ${above} (${(o.regionShare * 100).toFixed(0)}% of them) is flipped in the feedback; features unchanged`);
      expectAccuracy(rows, version, 'against the flipped labels');
      console.log(
        `the inputs are the holdout's, so the label-free estimate (CBPE) should stay where steady traffic puts it (${version} realizes ${figure(knownAccuracy(holdout.rows, version))} on them with their true labels)`,
      );
      const tally = await runTraffic({ ...base, rows });
      reportAccuracy(tally, started);
      return tally;
    }
    case 'spike': {
      const tally = newTally();
      const third = Math.max(1, Math.round(o.duration / 3));
      await runTraffic({ ...base, seconds: third, label: 'spike: base rate' }, tally);
      await runTraffic({ ...base, seconds: third, rate: o.rate * o.factor, label: `spike: ${o.factor}x` }, tally);
      return runTraffic({ ...base, seconds: third, label: 'spike: back to base' }, tally);
    }
    case 'drift': {
      const std = featureStd();
      const unknown = o.features.filter((f) => !(f in std));
      if (unknown.length) throw new Error(`unknown features: ${unknown.join(', ')}`);
      console.log(`shifting ${o.features.join(', ')} by ${o.shift} training standard deviations; the model's answers to shifted rows are not known in advance`);
      const tally = await runTraffic({
        ...base,
        transform: (features) => {
          const shifted = { ...features };
          for (const f of o.features) shifted[f] = features[f]! + o.shift * std[f]!;
          return shifted;
        },
      });
      reportAccuracy(tally, started);
      return tally;
    }
    case 'bad-model': {
      if (o.mode === 'active') await admin(stack, 'PUT', '/admin/models/active', { version: 'broken' });
      else await admin(stack, 'PUT', '/admin/models/canary', { version: 'broken', weight: o.weight });
      console.log(`broken model is now ${o.mode === 'active' ? 'active' : `the canary at ${o.weight}%`}; it stays so that alerting and remediation can act.`);
      const tally = await runTraffic(base);
      console.log(
        `to undo by hand: curl -X PUT ${stack.url}/admin/models/${o.mode === 'active' ? 'active' : 'canary'} -H "authorization: Bearer $(jq -r .adminToken run/stack.json)" -d '${JSON.stringify(o.mode === 'active' ? { version: 'v1' } : { version: 'broken', weight: 0 })}'`,
      );
      return tally;
    }
    case 'shadow': {
      // Labeled traffic whose answers both versions are known for: the paired figures are counted before the analyzer computes them.
      const active = await activeVersion(stack);
      await admin(stack, 'PUT', '/admin/models/shadow', { version: o.shadow, sample: o.sample });
      // A request a replica answers before it has read the new state is not copied, and the expectation below would count it.
      await untilEveryReplica(stack, (s) => s.shadow?.version === o.shadow && s.shadow.sample === o.sample);
      console.log(`${o.shadow} is now the shadow of ${active} on ${o.sample * 100}% of requests; it stays so that shadow-better or shadow-worse can act (npm run mlmon -- model shadow --off removes it)`);
      const tally = await runTraffic(base);
      const e = pairedExpectation(tally, active, o.shadow);
      const copied = o.sample < 1 ? ` (of which about ${Math.round(o.sample * 100)}% are copied: the analyzer's counts are that share of these)` : '';
      console.log(`expected paired analysis of ${o.shadow} (shadow) against ${active} (active), from both versions' known predictions on the rows sent${copied}:`);
      console.log(`  pairs ${e.pairs}, agreement ${figure(e.agreement)}`);
      console.log(`  on ${e.labeled_pairs} labeled pairs: active_accuracy ${figure(e.active_accuracy)}, shadow_accuracy ${figure(e.shadow_accuracy)}`);
      console.log(`  active_only_correct ${e.active_only_correct}, shadow_only_correct ${e.shadow_only_correct}, mcnemar_p_value ${e.mcnemar_p_value.toPrecision(3)}`);
      console.log(`compare, once the last labels are indexed: npm run mlmon -- analyze --from ${started.toISOString()} --to ${new Date().toISOString()}`);
      return tally;
    }
    case 'replica-crash': {
      const victim = (await stackStatus(stack)).processes.find((p) => p.name === o.replica);
      if (!victim?.pid) throw new Error(`no running ${o.replica}`);
      const crash = (async () => {
        await sleep((o.duration * 1000) / 3);
        process.stdout.write(`\nkill -9 ${o.replica} (pid ${victim.pid})\n`);
        process.kill(victim.pid!, 'SIGKILL');
      })();
      const tally = await runTraffic(base);
      await crash;
      return tally;
    }
  }
}
