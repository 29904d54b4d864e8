import type { Client } from '@elastic/elasticsearch';
import type { EventOf } from '@mlmon/contract';

/** Reading a remediation's audit trail back from Elasticsearch: the alert and every decision about one execution. */

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
