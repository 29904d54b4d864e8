import type { Client, estypes } from '@elastic/elasticsearch';
import { rulesHistoryIndex, rulesIndex } from '@mlmon/contract';
import type { WatchRecord } from './watcher/execute.js';
import { emptyStatus, type WatchStatus } from './watcher/status.js';

/** Where the runner keeps each watch's status and lease (one document per watch) and its execution history (daily indices). */
export const stateIndex = (prefix: string) => rulesIndex(prefix, 'state');
export const historyPattern = (prefix: string) => rulesIndex(prefix, 'history-*');

const ONE_SHARD = { number_of_shards: 1, auto_expand_replicas: '0-1' };
// Shaped like .watcher-history; payloads stay in _source only, since every watch's payload has another shape.
const HISTORY_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: false,
  properties: {
    watch_id: { type: 'keyword' },
    id: { type: 'keyword' },
    node: { type: 'keyword' },
    state: { type: 'keyword' },
    trigger_event: { properties: { triggered_time: { type: 'date' }, schedule: { properties: { scheduled_time: { type: 'date' } } } } },
    metadata: { properties: { severity: { type: 'keyword' }, remediation: { type: 'keyword' } } },
    result: {
      properties: {
        execution_time: { type: 'date' },
        execution_duration: { type: 'long' },
        condition: { properties: { met: { type: 'boolean' }, type: { type: 'keyword' } } },
        actions: { properties: { id: { type: 'keyword' }, type: { type: 'keyword' }, status: { type: 'keyword' } } },
      },
    },
  },
};

/** What the runner last told Alertmanager about one alert of a watch (alertmanager.ts). */
export interface NotifiedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  state: 'firing' | 'resolved';
}

export interface StateDoc {
  watch_id: string;
  status: WatchStatus;
  /** The last tick some runner claimed for this watch: a runner only executes a tick after this one. */
  lease?: { scheduled_time: number; owner: string; claimed_at: string };
  /** What the runners told Alertmanager about this watch's alerts (alertmanager.ts), so a restart can still end them. */
  notified?: NotifiedAlert[];
}

interface Versioned {
  doc: StateDoc;
  seqNo?: number;
  primaryTerm?: number;
}

const isConflict = (err: unknown) => (err as { meta?: { statusCode?: number } }).meta?.statusCode === 409;

export class StateStore {
  constructor(
    private readonly client: Client,
    readonly prefix: string,
  ) {}

  /**
   * The state index. History indices are created with their mappings as each day
   * starts (record), not through a template: the runner's role may create its own
   * indices but, least privilege, not change templates.
   */
  async ensure(): Promise<void> {
    await this.client.indices.create(
      {
        index: stateIndex(this.prefix),
        settings: ONE_SHARD,
        mappings: { dynamic: false, properties: { watch_id: { type: 'keyword' }, lease: { properties: { scheduled_time: { type: 'date' }, owner: { type: 'keyword' } } } } },
      },
      { ignore: [400] },
    );
  }

  private readonly historyReady = new Set<string>();

  private async historyIndexFor(at: number): Promise<string> {
    const index = rulesHistoryIndex(this.prefix, at);
    if (!this.historyReady.has(index)) {
      // 400: it exists (another runner, or this one before a restart).
      await this.client.indices.create({ index, settings: ONE_SHARD, mappings: HISTORY_MAPPINGS }, { ignore: [400] });
      this.historyReady.add(index);
    }
    return index;
  }

  private async read(watchId: string): Promise<Versioned> {
    const res = await this.client.get<StateDoc>({ index: stateIndex(this.prefix), id: watchId }, { ignore: [404] });
    if (!res.found || !res._source) return { doc: { watch_id: watchId, status: emptyStatus() } };
    return { doc: res._source, seqNo: res._seq_no, primaryTerm: res._primary_term };
  }

  private async write(v: Versioned): Promise<Versioned> {
    const res = await this.client.index({
      index: stateIndex(this.prefix),
      id: v.doc.watch_id,
      document: v.doc,
      // Optimistic concurrency: the write fails (409) if anyone changed the document since it was read.
      ...(v.seqNo === undefined ? { op_type: 'create' as const } : { if_seq_no: v.seqNo, if_primary_term: v.primaryTerm }),
      refresh: false,
    });
    return { doc: v.doc, seqNo: res._seq_no, primaryTerm: res._primary_term };
  }

  async status(watchId: string): Promise<WatchStatus> {
    return (await this.read(watchId)).doc.status;
  }

  async all(): Promise<StateDoc[]> {
    const res = await this.client.search<StateDoc>({ index: stateIndex(this.prefix), size: 1000, ignore_unavailable: true });
    return res.hits.hits.map((h) => h._source!).filter(Boolean);
  }

  /**
   * Claims a tick of a watch for this runner. Of several runners claiming the
   * same tick, exactly one gets it: each reads the lease and writes it back
   * conditioned on the version it read. Returns the claim (with the watch's
   * status to execute against), or undefined when the tick is someone else's.
   */
  async claim(watchId: string, scheduledTime: number, owner: string): Promise<Claim | undefined> {
    const current = await this.read(watchId);
    if (current.doc.lease && current.doc.lease.scheduled_time >= scheduledTime) return undefined;
    try {
      const claimed = await this.write({ ...current, doc: { ...current.doc, lease: { scheduled_time: scheduledTime, owner, claimed_at: new Date().toISOString() } } });
      return new Claim(this, claimed);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }

  /** Applies `change` to a watch's status, re-reading and retrying when someone else wrote in between. */
  async update(watchId: string, change: (status: WatchStatus) => void, from?: Versioned): Promise<Versioned> {
    return this.updateDoc(
      watchId,
      (doc) => {
        const status = structuredClone(doc.status);
        change(status);
        return { ...doc, status };
      },
      from,
    );
  }

  /** Replaces what the runners told Alertmanager about a watch's alerts. */
  async setNotified(watchId: string, notified: NotifiedAlert[]): Promise<void> {
    await this.updateDoc(watchId, (doc) => ({ ...doc, notified }));
  }

  private async updateDoc(watchId: string, change: (doc: StateDoc) => StateDoc, from?: Versioned): Promise<Versioned> {
    let v = from ?? (await this.read(watchId));
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.write({ ...v, doc: change(v.doc) });
      } catch (err) {
        if (!isConflict(err) || attempt >= 10) throw err;
        v = await this.read(watchId);
      }
    }
  }

  async record(rec: WatchRecord, at: number): Promise<void> {
    await this.client.index({ index: await this.historyIndexFor(at), id: rec.id, document: rec });
  }

  async lastRecords(): Promise<Map<string, WatchRecord>> {
    const res = await this.client.search<WatchRecord>({
      index: historyPattern(this.prefix),
      size: 0,
      ignore_unavailable: true,
      allow_no_indices: true,
      aggs: { watches: { terms: { field: 'watch_id', size: 1000 }, aggs: { last: { top_hits: { size: 1, sort: [{ 'result.execution_time': 'desc' }] } } } } },
    });
    const buckets = (res.aggregations?.watches as estypes.AggregationsStringTermsAggregate | undefined)?.buckets as estypes.AggregationsStringTermsBucket[] | undefined;
    const out = new Map<string, WatchRecord>();
    for (const b of buckets ?? []) {
      const hit = (b.last as estypes.AggregationsTopHitsAggregate).hits.hits[0];
      if (hit?._source) out.set(String(b.key), hit._source as WatchRecord);
    }
    return out;
  }
}

/** A claimed tick: the status to execute with, saved back through the claim's version. */
export class Claim {
  constructor(
    private readonly store: StateStore,
    private readonly v: Versioned,
  ) {}

  get status(): WatchStatus {
    return structuredClone(this.v.doc.status);
  }

  get notified(): NotifiedAlert[] {
    return this.v.doc.notified ?? [];
  }

  /**
   * Saves the status the execution left. An ack written meanwhile wins over
   * the execution's view of that action's ack state, so an operator's ack is
   * never lost to a concurrent execution.
   */
  async save(after: WatchStatus): Promise<void> {
    const before = this.v.doc.status;
    await this.store.update(
      this.v.doc.watch_id,
      (status) => {
        for (const [id, s] of Object.entries(after.actions)) {
          const ackedMeanwhile = status.actions[id]?.ack.state === 'acked' && before.actions[id]?.ack.state !== 'acked';
          status.actions[id] = ackedMeanwhile && s.ack.state === 'ackable' ? { ...s, ack: status.actions[id]!.ack } : s;
        }
        if (after.last_checked) status.last_checked = after.last_checked;
        if (after.last_met_condition) status.last_met_condition = after.last_met_condition;
      },
      this.v,
    );
  }
}
