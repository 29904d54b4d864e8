import type { Client } from '@elastic/elasticsearch';
import type { EventOf } from '@mlmon/contract';

/**
 * For the closed-loop tests the lead writes once the analyzer and the rule
 * runner are merged (issue 11, "the closed loop"): each scenario ends with the
 * alert -> remediation -> outcome trail in Elasticsearch, read with these.
 *
 * Scenarios and the trail each should end with (on `mlmon up` with the rule
 * runner, REMEDIATOR_COOLDOWN_S / REMEDIATOR_FLAP_WINDOW_S shortened):
 * - `simulate bad-model --mode canary`: an alert with action rollback, then
 *   `rollback executed` (target the canary's version); GET /v1/models canary null.
 * - `simulate bad-model --mode active`: `rollback executed` with
 *   version {before: broken, after: the previous active}; the replicas serve it.
 * - `simulate spike`: `scale_out executed` (replicas.after <= max), later
 *   `scale_in executed` after the flap window; never `after` < min or > max.
 * - SIGSTOP a replica: `restart executed` for it; its pid changes.
 * - `simulate drift` with feedback: `retrain started`, `finished`, `registered`;
 *   GET /v1/models shows the new canary.
 */

type Remediation = EventOf<'mlmon.remediation'>;
type Alert = EventOf<'mlmon.alert'>;

/** Every alert and remediation event about one execution, oldest first. */
export async function trail(client: Client, prefix: string, executionId: string): Promise<Array<Alert | Remediation>> {
  const res = await client.search<Alert | Remediation>({
    index: `${prefix}-events-*`,
    size: 100,
    sort: [{ '@timestamp': 'asc' }],
    query: {
      bool: {
        should: [{ term: { 'mlmon.remediation.execution_id': executionId } }, { term: { 'mlmon.alert.id': executionId } }],
        minimum_should_match: 1,
      },
    },
  });
  return res.hits.hits.map((h) => h._source!);
}

/** Remediation decisions since `since`, oldest first, optionally of one action: what a scenario waits for with expect.poll. */
export async function decisionsSince(client: Client, prefix: string, since: Date, action?: Remediation['mlmon']['remediation']['action']): Promise<Remediation[]> {
  const res = await client.search<Remediation>({
    index: `${prefix}-events-*`,
    size: 500,
    sort: [{ '@timestamp': 'asc' }],
    query: {
      bool: {
        filter: [
          { term: { 'event.dataset': 'mlmon.remediation' } },
          { range: { '@timestamp': { gte: since.toISOString() } } },
          ...(action ? [{ term: { 'mlmon.remediation.action': action } }] : []),
        ],
      },
    },
  });
  return res.hits.hits.map((h) => h._source!);
}
