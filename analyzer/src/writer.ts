import os from 'node:os';
import type { Client } from '@elastic/elasticsearch';
import { indexForEvent, parseEcsLine, type EventOf, type LabeledDocument } from '@mlmon/contract';
import { ecsEvents } from '@mlmon/runtime';
import { metricEvents } from './events.js';
import type { WindowReport } from './window.js';

/** A labeled document and where it goes: its prediction's daily index, the prediction id, the version its feedback gives it. */
export interface LabeledWrite {
  index: string;
  id: string;
  version: number;
  doc: LabeledDocument;
}

export interface Written {
  written: number;
  /** Refused as already there: a metric document of a tick computed again, or a labeled one that holds a later (or this very) feedback. */
  conflicts: number;
}

interface Target {
  _index: string;
  _id: string;
  version?: number;
  version_type?: 'external';
}

interface Item {
  action: { create: Target } | { index: Target };
  body: string | LabeledDocument;
}

type MetricEvent = EventOf<'mlmon.quality'> | EventOf<'mlmon.drift'> | EventOf<'mlmon.data_quality'>;

/**
 * How the analyzer writes what it produces: straight to Elasticsearch with the
 * client's bulk helper, the metric documents of each tick and the labeled
 * documents of its join alike. The labeled ones need external versioning (a
 * later feedback rewrites its prediction's document), which the shipper's
 * create-only role cannot do, so metrics take the same way rather than a file
 * and the shipper. Its own app lines still go to its log file.
 *
 * Items Elasticsearch throttles (429) are retried by the helper; anything else
 * it refuses is reported and fails the write, so the service's pass is
 * retried, where what did land answers 409 and is not written twice.
 */
export class AnalyzerWriter {
  private readonly events;

  constructor(
    private readonly client: Client,
    private readonly o: { prefix: string; node?: string; report?: (message: string) => void },
  ) {
    // The node as MLMON_ANALYZER_NODE names it by default.
    this.events = ecsEvents({ service: 'mlmon-analyzer', node: o.node ?? os.hostname() });
  }

  /**
   * The mlmon.quality, mlmon.drift and mlmon.data_quality documents of a
   * tick's windows: the same ECS lines the shipper indexed when they went
   * through a file, validated by the contract's schemas as it validates them
   * (a document that fails is a bug: it throws, and nothing of the tick is
   * written). Each has an id made of what it measures, so a tick computed
   * again after a crash cannot add a second document.
   */
  async metrics(reports: WindowReport[]): Promise<Written> {
    const items = reports.flatMap(metricEvents).map((e): Item => {
      const line = this.events.format(this.events.build(e.dataset, 'info', e.message, e.fields as never));
      const event = parseEcsLine(line) as MetricEvent;
      const m = event.mlmon;
      const feature = 'drift' in m ? m.drift.feature : 'data_quality' in m ? m.data_quality.feature : undefined;
      const id = [e.dataset, m.window.name, m.window.end, m.model.name, m.model.version, m.model.role, ...(feature ? [feature] : [])].join('|');
      return { action: { create: { _index: indexForEvent(this.o.prefix, event), _id: id } }, body: line };
    });
    return this.bulk(items, 'metric', false);
  }

  /** The join's documents, each written only if its version is above the one stored (the latest feedback wins); searchable once this resolves. */
  async labeled(docs: LabeledWrite[]): Promise<Written> {
    const items = docs.map((d): Item => ({ action: { index: { _index: d.index, _id: d.id, version: d.version, version_type: 'external' } }, body: d.doc }));
    return this.bulk(items, 'labeled', true);
  }

  private async bulk(items: Item[], what: string, refresh: boolean): Promise<Written> {
    if (items.length === 0) return { written: 0, conflicts: 0 };
    let conflicts = 0;
    const dropped: string[] = [];
    const stats = await this.client.helpers.bulk<Item>({
      datasource: items,
      onDocument: (item) => [item.action, item.body] as never,
      retries: 3,
      wait: 1000,
      onDrop: (drop) => {
        if (drop.status === 409) conflicts += 1;
        else {
          const target = Object.values(drop.operation as Item['action'])[0] as Target | undefined;
          dropped.push(`${target?._index}/${target?._id}: ${drop.status} ${drop.error?.type ?? 'error'}: ${drop.error?.reason ?? 'no reason given'}`);
        }
      },
      refreshOnCompletion: refresh,
    });
    if (dropped.length > 0) {
      const message = `${dropped.length} of ${items.length} ${what} documents not written: ${dropped.slice(0, 3).join('; ')}${dropped.length > 3 ? ' …' : ''}`;
      this.o.report?.(message);
      throw new Error(message);
    }
    return { written: stats.successful, conflicts };
  }
}
