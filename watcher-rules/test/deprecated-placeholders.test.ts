import { describe, expect, it } from 'vitest';
import { deploymentOf, loadRunnerConfig } from '../src/config.js';
import { parseWatch } from '../src/load.js';

const meta = { name: 'own rule', description: 'd', severity: 'warning', runbook: 'docs/runbooks/test.md', threshold: 0, threshold_why: 'w', unit: 'docs', window: '1m' };

/** A watch of one's own, written with the placeholders the settings had before their rename. */
const ownWatch = (url: string, authorization: string) =>
  parseWatch(
    'own-rule',
    {
      trigger: { schedule: { interval: '1m' } },
      input: { simple: {} },
      condition: { always: {} },
      actions: { remediate: { webhook: { method: 'post', url: `${url}/v1/hooks/scale-out`, headers: { authorization }, body: '{{ctx.id}}' } } },
      metadata: meta,
    },
    deploymentOf(loadRunnerConfig({ MLMON_REMEDIATOR_URL: 'https://remediator:8070/', MLMON_REMEDIATOR_TOKEN: 'token-of-sixteen-chars' })),
  );

describe('a watch written before the settings were renamed', () => {
  it('still loads for this release: its old placeholders get the same values as the new ones', () => {
    const old = ownWatch('${REMEDIATOR_URL}', 'Bearer ${REMEDIATOR_TOKEN}').body.actions.remediate;
    const renamed = ownWatch('${MLMON_REMEDIATOR_URL}', 'Bearer ${MLMON_REMEDIATOR_TOKEN}').body.actions.remediate;
    expect(old).toEqual(renamed);
    expect(old).toMatchObject({ webhook: { url: 'https://remediator:8070/v1/hooks/scale-out', headers: { authorization: 'Bearer token-of-sixteen-chars' } } });
  });
});
