import type { Client } from '@elastic/elasticsearch';
import { EventValidationError, documentId, indexForEvent, validateEvent, type MlmonEvent } from '@mlmon/contract';

export interface WriteFailure {
  event: MlmonEvent;
  status: number;
  reason: string;
}

/**
 * Validates every event first and writes none if any is invalid, so a batch
 * never half-lands because of one bad event; then bulk-indexes them with
 * `create`, which makes a replayed event a 409 (already there), not a duplicate.
 * For services that produce events directly (analyzer, rule runner); log lines
 * go through the shipper instead.
 */
export async function writeEvents(
  client: Client,
  opts: { prefix: string; events: unknown[]; refresh?: boolean },
): Promise<{ indexed: number; duplicates: number; failed: WriteFailure[] }> {
  const events = opts.events.map((e, i) => {
    try {
      return validateEvent(e);
    } catch (err) {
      if (err instanceof EventValidationError) {
        throw new EventValidationError(`event #${i}: ${err.message}`, err.field, err.issues);
      }
      throw err;
    }
  });
  const failed: WriteFailure[] = [];
  let duplicates = 0;
  const stats = await client.helpers.bulk<MlmonEvent>({
    datasource: events,
    onDocument: (event) => {
      const id = documentId(event);
      return { create: { _index: indexForEvent(opts.prefix, event), ...(id ? { _id: id } : {}) } };
    },
    onDrop: (drop) => {
      if (drop.status === 409) duplicates += 1;
      else failed.push({ event: drop.document, status: drop.status, reason: drop.error?.reason ?? 'unknown' });
    },
    refreshOnCompletion: opts.refresh ?? false,
  });
  return { indexed: stats.successful, duplicates, failed };
}
