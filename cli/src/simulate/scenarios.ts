import { setTimeout as sleep } from 'node:timers/promises';
import { stackStatus } from '../stack/client.js';
import type { StackFile } from '../stack/stack-file.js';
import { featureStd, loadHoldout } from './holdout.js';
import { newTally, runTraffic, type TrafficOptions, type TrafficTally } from './traffic.js';

export const SCENARIOS = ['steady', 'spike', 'drift', 'bad-model', 'replica-crash'] as const;
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
};

async function admin(stack: StackFile, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT ${path}: HTTP ${res.status} ${await res.text()}`);
}

/** Runs one scenario against a running stack and returns what it measured; each prints its own progress. */
export async function simulate(scenario: Scenario, o: SimulateOptions, stack: StackFile): Promise<TrafficTally> {
  const base: TrafficOptions = {
    url: stack.url,
    rows: loadHoldout(),
    rate: o.rate,
    seconds: o.duration,
    feedbackFraction: o.feedback,
    feedbackDelayMs: o.feedbackDelay * 1000,
    label: scenario,
  };
  switch (scenario) {
    case 'steady':
      return runTraffic(base);
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
      console.log(`shifting ${o.features.join(', ')} by ${o.shift} training standard deviations`);
      return runTraffic({
        ...base,
        transform: (features) => {
          const shifted = { ...features };
          for (const f of o.features) shifted[f] = features[f]! + o.shift * std[f]!;
          return shifted;
        },
      });
    }
    case 'bad-model': {
      if (o.mode === 'active') await admin(stack, '/admin/models/active', { version: 'broken' });
      else await admin(stack, '/admin/models/canary', { version: 'broken', weight: o.weight });
      console.log(`broken model is now ${o.mode === 'active' ? 'active' : `the canary at ${o.weight}%`}; it stays so that alerting and remediation can act.`);
      const tally = await runTraffic(base);
      console.log(
        `to undo by hand: curl -X PUT ${stack.url}/admin/models/${o.mode === 'active' ? 'active' : 'canary'} -H "authorization: Bearer $(jq -r .adminToken run/stack.json)" -d '${JSON.stringify(o.mode === 'active' ? { version: 'v1' } : { version: 'broken', weight: 0 })}'`,
      );
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
