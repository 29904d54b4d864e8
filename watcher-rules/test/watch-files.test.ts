import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REMEDIATION_ACTIONS, REMEDIATION_HOOKS } from '@mlmon/contract';
import { README, renderReadme } from '../src/docs.js';
import { loadWatches, parseWatch, WatchError } from '../src/load.js';

const deployment = { MLMON_INDEX_PREFIX: 'mlmon', MLMON_REMEDIATOR_URL: 'http://127.0.0.1:8070', MLMON_REMEDIATOR_TOKEN: 'token-of-sixteen-chars' };
const watches = loadWatches({ deployment });
interface RawWatch {
  metadata: Record<string, unknown>;
  condition: unknown;
  actions: Record<string, Record<string, unknown>>;
}
const raw = (id: string) => JSON.parse(readFileSync(new URL(`../watches/${id}.json`, import.meta.url), 'utf8')) as RawWatch;

describe('the watch files', () => {
  it('all load, one per rule the issue asks for', () => {
    expect(watches.map((w) => w.id)).toEqual(
      expect.arrayContaining([
        'latency-p99', 'http-5xx-rate', 'replica-overload', 'replica-underuse', 'traffic-flatline', 'replica-heartbeat-missing', 'cpu-saturation',
        'event-loop-saturation', 'model-accuracy-low', 'model-f1-low', 'canary-worse', 'prediction-avg-high', 'prediction-avg-low', 'drift-share',
        'drift-psi', 'data-quality-missing', 'data-quality-out-of-range', 'data-quality-rejected', 'performance-estimate-low', 'multivariate-drift',
        'ood-rate',
      ]),
    );
  });

  it('read their thresholds from metadata, never a literal copy of them, or from the document a reference rule judges', () => {
    for (const w of watches) {
      const text = JSON.stringify({ input: w.body.input, condition: w.body.condition });
      if (w.body.metadata.threshold === 'reference') {
        expect(text, w.id).not.toContain('{{ctx.metadata.threshold}}');
        expect(text, w.id).toMatch(/\{\{ctx\.payload\.hits\.hits\.0\._source\.mlmon\.\w+\.\w+threshold\w*\}\}/);
      } else expect(text, w.id).toContain('{{ctx.metadata.threshold}}');
      expect(text, w.id).toContain('{{ctx.metadata.window}}');
    }
  });

  it('the judgments of design-21 read the 1m window every 15 s against the thresholds from the reference', () => {
    const judgments = ['drift-share', 'drift-psi', 'multivariate-drift', 'ood-rate', 'performance-estimate-low'];
    expect(watches.filter((w) => w.body.metadata.threshold === 'reference').map((w) => w.id).sort()).toEqual([...judgments].sort());
    for (const id of judgments) {
      const w = watches.find((x) => x.id === id)!;
      expect([w.body.metadata.window, w.body.trigger.schedule.interval], id).toEqual(['1m', '15s']);
    }
  });

  it('index patterns follow MLMON_INDEX_PREFIX', () => {
    const other = loadWatches({ deployment: { ...deployment, MLMON_INDEX_PREFIX: 'staging' } });
    for (const w of other) {
      const indices = 'search' in w.body.input ? w.body.input.search.request.indices : [];
      expect(indices.every((i) => i.startsWith('staging-')), w.id).toBe(true);
    }
  });

  it('a remediation rule calls the remediator hook its metadata names, with the bearer token', () => {
    for (const w of watches.filter((x) => x.body.metadata.remediation)) {
      const hook = w.body.actions.remediate?.webhook;
      expect(hook?.url, w.id).toBe(`http://127.0.0.1:8070/v1/hooks/${REMEDIATION_HOOKS[w.body.metadata.remediation!]}`);
      expect(hook?.headers?.authorization).toBe('Bearer token-of-sixteen-chars');
      expect(hook?.body).toContain(`"action":"${w.body.metadata.remediation}"`);
    }
    expect(new Set(watches.map((w) => w.body.metadata.remediation).filter(Boolean))).toEqual(new Set(REMEDIATION_ACTIONS));
  });

  it('the prediction band is the training reference: mean ± 4 standard errors of a min_count mean', () => {
    const profile = JSON.parse(readFileSync(new URL('../../model/artifacts/reference_profile.json', import.meta.url), 'utf8')) as { scores: { v1: { mean: number; std: number } } };
    const { mean, std } = profile.scores.v1;
    const high = watches.find((w) => w.id === 'prediction-avg-high')!.body.metadata;
    const low = watches.find((w) => w.id === 'prediction-avg-low')!.body.metadata;
    const se = std / Math.sqrt(Number(high.min_count));
    expect(high.threshold).toBeCloseTo(mean + 4 * se, 3);
    expect(low.threshold).toBeCloseTo(mean - 4 * se, 2);
  });

  it('each names a runbook that exists', () => {
    for (const w of watches) expect(existsSync(new URL(`../../${w.body.metadata.runbook}`, import.meta.url)), w.body.metadata.runbook).toBe(true);
  });

  it('the README rules section is generated from the current files (npm run rules:docs)', () => {
    expect(renderReadme(readFileSync(README, 'utf8'))).toBe(readFileSync(README, 'utf8'));
  });
});

describe('bad watches get a clear error naming the field', () => {
  const base = () => raw('latency-p99');
  const load = (body: unknown) => () => parseWatch('bad-rule', body, deployment);

  it('script conditions, transforms and action conditions are refused', () => {
    expect(load({ ...base(), condition: { script: { source: 'return true' } } })).toThrow(
      'watch bad-rule: condition.script: condition scripts are refused: neither the rule runner nor a cluster without painless can run them',
    );
    expect(load({ ...base(), transform: { chain: [{ search: {} }, { script: 'x' }] } })).toThrow('transform.chain.1.script: transform scripts are refused');
    const w = base();
    w.actions.log!.condition = { script: 'ctx.payload.x > 1' };
    expect(load(w)).toThrow('actions.log.condition.script');
  });

  it('unknown operators, quantifiers and schedules', () => {
    expect(load({ ...base(), condition: { compare: { 'ctx.payload.x': { bigger: 1 } } } })).toThrow(WatchError);
    expect(load({ ...base(), condition: { array_compare: { 'ctx.payload.x': { path: 'a', gt: { value: 1, quantifier: 'most' } } } } })).toThrow(/condition/);
    expect(load({ ...base(), trigger: { schedule: { cron: '0 * * * * ?' } } })).toThrow('trigger.schedule.cron: only interval schedules are supported');
    expect(load({ ...base(), throttle_period: 'soon' })).toThrow('watch bad-rule: throttle_period: "soon" is not a duration');
  });

  it('a threshold that is neither a number nor "reference", and a reference rule comparing with a constant', () => {
    expect(load({ ...base(), metadata: { ...base().metadata, threshold: 'high' } })).toThrow(
      'watch bad-rule: metadata.threshold: a threshold is a number, or "reference" for one the metric document carries',
    );
    const ref = raw('multivariate-drift');
    ref.condition = { compare: { 'ctx.payload.hits.hits.0._source.mlmon.drift.reconstruction_error': { gt: 3 } } };
    expect(load(ref)).toThrow('watch bad-rule: condition: a rule with a reference threshold compares with the threshold its document carries');
  });

  it('a metadata without its threshold, and an unset deployment setting', () => {
    const w = base();
    delete w.metadata.threshold;
    expect(load(w)).toThrow('watch bad-rule: metadata.threshold:');
    expect(() => parseWatch('bad-rule', raw('replica-overload'), { MLMON_INDEX_PREFIX: 'mlmon' })).toThrow(
      'watch bad-rule: actions.remediate.webhook.url: ${MLMON_REMEDIATOR_URL} is not set',
    );
  });
});
