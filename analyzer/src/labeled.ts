import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client, estypes } from '@elastic/elasticsearch';
import { familyIndex, familyPattern } from '@mlmon/contract';
import { writeFileAtomic } from '@mlmon/runtime';
import type { ModelKey } from './context.js';
import { AnalyzerWriter, type LabeledWrite } from './writer.js';

/**
 * The feedback↔prediction join (see README "How labels meet predictions"),
 * the only one: the analyzer's quality metrics aggregate its documents and the
 * remediator's retraining reads them as its labeled rows.
 * Each feedback event is read once, in `_seq_no` order per feedback index; its
 * prediction is fetched by id (the UUIDv7 id names the day, hence the index);
 * and one "labeled" document per prediction, `_id` = prediction id, holds what
 * the quality metrics aggregate. Its external version is derived from the
 * feedback time, so the latest feedback wins whatever the order of processing,
 * and a retry or a duplicate can never count twice. Feedback for an active
 * prediction whose request was copied to a shadow (`shadow_id` on its line)
 * labels the shadow's prediction too, whose labeled document then carries both
 * versions' correctness for the paired analysis.
 */

const dayIndex = (prefix: string, family: 'predictions' | 'labeled', ms: number) => familyIndex(prefix, family, new Date(ms));

/** sklearn's log_loss clips probabilities to [eps, 1-eps] with the float64 machine epsilon. */
const EPS = 2.220446049250313e-16;

/** Milliseconds since the epoch inside a UUIDv7, or undefined for any other id. */
export function uuidv7Time(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

interface Feedback {
  id: string;
  predictionId: string;
  trueLabel: string;
  at: number;
}

interface PredictionSource {
  '@timestamp': string;
  http?: { request?: { id?: string } };
  mlmon: {
    model: ModelKey;
    prediction: { id: string; label: string; score: number; shadow_id?: string };
    shadow?: { active: { prediction_id: string; version: string; label: string } };
  };
}

/** What to write for a feedback whose prediction is not found (yet). */
type IfMissing = 'orphaned' | 'shadow_pending' | 'skip';

interface State {
  /** Per feedback index: its uuid (a recreated index starts over) and the last `_seq_no` joined. */
  feedback: Record<string, { uuid: string; checkpoint: number }>;
  /** The end of the last window tick the analyzer computed, so a restart or an outage leaves no gap. */
  nextTick?: number;
  /**
   * Starts of the slices whose labeled documents this joiner changed and the
   * service has not re-collected yet. Written with the checkpoint that covers
   * them, so a crash in between cannot lose a change.
   */
  pending?: number[];
}

export class StateFile {
  constructor(readonly file: string | undefined) {}
  read(): State {
    if (!this.file) return { feedback: {} };
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as State;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { feedback: {} };
      throw new Error(`analyzer state ${this.file}: ${(err as Error).message}`);
    }
  }
  async write(state: State): Promise<void> {
    if (!this.file) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    await writeFileAtomic(this.file, JSON.stringify(state));
  }
}

export interface JoinStats {
  feedbackRead: number;
  joined: number;
  orphaned: number;
  superseded: number;
  /** Shadow predictions labeled by their active prediction's feedback, and those whose line has not been indexed yet. */
  shadows: number;
  shadowsPending: number;
}

export interface JoinerOptions {
  progress?: (message: string) => void;
  /** Feedback read per search. */
  batchSize?: number;
  /** Slice width (the service's tick) for pendingSlices(); without it nothing is tracked. */
  sliceMs?: number;
  /** The service's writer (which reports what it could not write); a joiner on its own writes through one of its own. */
  writer?: AnalyzerWriter;
  /**
   * How long a shadow's line may take to be indexed after its active one (the service's late horizon): a
   * shadow prediction not found when its feedback is joined is looked for again until it is this old.
   */
  shadowWaitMs?: number;
}

export class Joiner {
  private state: State;
  private readonly progress: (message: string) => void;
  private readonly batchSize: number;
  private readonly sliceMs: number | undefined;
  private readonly writer: AnalyzerWriter;
  private readonly shadowWaitMs: number;
  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly positiveLabel: string,
    private readonly stateFile: StateFile,
    o: JoinerOptions = {},
  ) {
    this.state = stateFile.read();
    this.progress = o.progress ?? (() => {});
    this.batchSize = o.batchSize ?? 2000;
    this.sliceMs = o.sliceMs;
    this.writer = o.writer ?? new AnalyzerWriter(client, { prefix });
    this.shadowWaitMs = o.shadowWaitMs ?? 300_000;
  }

  /** The slices (by start) whose labeled part changed since clearPending last covered them. */
  pendingSlices(): number[] {
    return [...(this.state.pending ?? [])];
  }
  async clearPending(before: number): Promise<void> {
    const left = (this.state.pending ?? []).filter((s) => s >= before);
    if (left.length === (this.state.pending ?? []).length) return;
    this.state.pending = left;
    await this.stateFile.write(this.state);
  }

  get nextTick(): number | undefined {
    return this.state.nextTick;
  }
  async setNextTick(t: number): Promise<void> {
    this.state.nextTick = t;
    await this.stateFile.write(this.state);
  }

  /** Joins every feedback indexed since the last run, then retries the orphans. */
  async run(): Promise<JoinStats> {
    const stats: JoinStats = { feedbackRead: 0, joined: 0, orphaned: 0, superseded: 0, shadows: 0, shadowsPending: 0 };
    const res = await this.client.indices.stats({ index: `${this.prefix}-feedback-*`, level: 'shards', expand_wildcards: 'open' }, { ignore: [404] });
    const indices = (res.indices ?? {}) as Record<string, estypes.IndicesStatsIndicesStats>;
    for (const [index, s] of Object.entries(indices).sort(([a], [b]) => a.localeCompare(b))) {
      const shard = s.shards?.['0']?.find((c) => c.routing?.primary) ?? s.shards?.['0']?.[0];
      // Every operation up to the global checkpoint is done; a refresh after reading it makes them all searchable.
      const upTo = shard?.seq_no?.global_checkpoint ?? -1;
      let known = this.state.feedback[index];
      if (!known || known.uuid !== s.uuid) known = this.state.feedback[index] = { uuid: s.uuid ?? '', checkpoint: -1 };
      if (upTo <= known.checkpoint) continue;
      await this.client.indices.refresh({ index });
      let from = known.checkpoint;
      for (;;) {
        const page = await this.client.search<{ '@timestamp': string; mlmon: { prediction: { id: string }; feedback: { true_label: string } } }>({
          index,
          size: this.batchSize,
          query: { range: { _seq_no: { gt: from, lte: upTo } } },
          sort: [{ _seq_no: 'asc' }],
          seq_no_primary_term: true,
          _source: ['@timestamp', 'mlmon.prediction.id', 'mlmon.feedback.true_label'],
        });
        const hits = page.hits.hits;
        if (hits.length === 0) break;
        const batch = hits.map((h) => ({
          id: h._id,
          predictionId: h._source!.mlmon.prediction.id,
          trueLabel: h._source!.mlmon.feedback.true_label,
          at: Date.parse(h._source!['@timestamp']),
        }));
        await this.join(batch, stats);
        stats.feedbackRead += batch.length;
        from = hits.at(-1)!._seq_no!;
        known.checkpoint = from;
        await this.stateFile.write(this.state);
        if (stats.feedbackRead % (this.batchSize * 25) === 0) this.progress(`joined ${stats.feedbackRead} feedback so far (${index} at _seq_no ${from} of ${upTo})`);
      }
      known.checkpoint = upTo;
      await this.stateFile.write(this.state);
    }
    await this.retry('orphaned', stats);
    await this.retry('shadow_pending', stats);
    return stats;
  }

  /** Joins the documents left orphaned or waiting for their shadow line, whose prediction may have landed since. */
  private async retry(status: 'orphaned' | 'shadow_pending', stats: JoinStats): Promise<void> {
    // A shadow line comes within its copy's timeout and the shipper's lag, or never (the copy failed or timed out).
    const recent = status === 'shadow_pending' ? [{ range: { '@timestamp': { gte: Date.now() - this.shadowWaitMs, format: 'epoch_millis' } } }] : [];
    const res = await this.client.search<{ mlmon: { prediction: { id: string }; feedback: { true_label: string; at: string; id: string } } }>(
      {
        index: familyPattern(this.prefix, 'labeled'),
        size: 10_000,
        query: { bool: { filter: [{ term: { 'mlmon.labeled.status': status } }, ...recent] } },
        _source: ['mlmon.prediction.id', 'mlmon.feedback'],
        sort: [{ '@timestamp': 'asc' }],
      },
      { ignore: [404] },
    );
    const waiting = (res.hits?.hits ?? []).map((h) => ({
      id: h._source!.mlmon.feedback.id,
      predictionId: h._source!.mlmon.prediction.id,
      trueLabel: h._source!.mlmon.feedback.true_label,
      at: Date.parse(h._source!.mlmon.feedback.at),
    }));
    if (waiting.length === 0) return;
    const before = this.state.pending?.length;
    await this.join(waiting, stats, 'skip');
    if (this.state.pending?.length !== before) await this.stateFile.write(this.state);
  }

  private touch(t: number): void {
    if (!this.sliceMs) return;
    const start = Math.floor(t / this.sliceMs) * this.sliceMs;
    const pending = (this.state.pending ??= []);
    // A batch touches few slices: checking the last few entries first keeps this cheap for thousands of feedback.
    if (pending.at(-1) !== start && !pending.includes(start)) pending.push(start);
  }

  /** The predictions a batch names, by id, from the daily indices their ids' times name. */
  private async fetch(batch: Feedback[]): Promise<Map<string, PredictionSource>> {
    // A prediction is logged a moment after its id is made: near midnight it can land in the next day's index.
    const docs = batch.flatMap((f) => {
      const t = uuidv7Time(f.predictionId) ?? f.at;
      const days = [...new Set([dayIndex(this.prefix, 'predictions', t), dayIndex(this.prefix, 'predictions', t + 60_000)])];
      return days.map((index) => ({ _index: index, _id: f.predictionId }));
    });
    const found = new Map<string, PredictionSource>();
    const res = await this.client.mget<PredictionSource>({
      docs,
      _source_includes: [
        '@timestamp',
        'http.request.id',
        'mlmon.model',
        'mlmon.prediction.id',
        'mlmon.prediction.label',
        'mlmon.prediction.score',
        'mlmon.prediction.shadow_id',
        'mlmon.shadow.active.prediction_id',
        'mlmon.shadow.active.version',
        'mlmon.shadow.active.label',
      ],
    });
    for (const d of res.docs) if ('found' in d && d.found && d._source) found.set(d._id, d._source);
    return found;
  }

  private async join(batch: Feedback[], stats: JoinStats, ifMissing: IfMissing = 'orphaned'): Promise<void> {
    const found = await this.fetch(batch);
    // Feedback names the prediction its client was given; the shadow's copy of that request is labeled by it too.
    const copies = batch.flatMap((f) => {
      const copy = found.get(f.predictionId)?.mlmon.prediction.shadow_id;
      return copy ? [{ ...f, predictionId: copy }] : [];
    });
    const foundCopies = copies.length > 0 ? await this.fetch(copies) : new Map<string, PredictionSource>();
    const writes = [
      ...batch.flatMap((f) => this.labeledDoc(f, found.get(f.predictionId), ifMissing, stats)),
      ...copies.flatMap((f) => this.labeledDoc(f, foundCopies.get(f.predictionId), 'shadow_pending', stats)),
    ];
    // Refused as not newer: this prediction already holds a later feedback (or this very one), which is the point.
    stats.superseded += (await this.writer.labeled(writes)).conflicts;
  }

  /** The labeled document of one feedback and its prediction, or what stands for it until the prediction is found. */
  private labeledDoc(f: Feedback, p: PredictionSource | undefined, ifMissing: IfMissing, stats: JoinStats): LabeledWrite[] {
    const t = uuidv7Time(f.predictionId) ?? f.at;
    const feedback = { true_label: f.trueLabel, at: new Date(f.at).toISOString(), id: f.id };
    if (!p) {
      // A document that is still waiting stays as it is.
      if (ifMissing === 'skip') return [];
      if (ifMissing === 'orphaned') stats.orphaned += 1;
      else stats.shadowsPending += 1;
      return [
        {
          version: f.at * 2,
          index: dayIndex(this.prefix, 'labeled', t),
          id: f.predictionId,
          doc: { '@timestamp': new Date(t).toISOString(), mlmon: { prediction: { id: f.predictionId }, feedback, labeled: { status: ifMissing } } },
        },
      ];
    }
    const pair = p.mlmon.shadow;
    if (pair) stats.shadows += 1;
    else stats.joined += 1;
    this.touch(Date.parse(p['@timestamp']));
    const y = f.trueLabel === this.positiveLabel ? 1 : 0;
    const predicted = p.mlmon.prediction.label === this.positiveLabel ? 1 : 0;
    const { id, label, score } = p.mlmon.prediction;
    const clipped = Math.min(Math.max(score, EPS), 1 - EPS);
    return [
      {
        // Joined outranks orphaned (or waiting) for the same feedback; a later feedback outranks both.
        version: f.at * 2 + 1,
        index: dayIndex(this.prefix, 'labeled', t),
        id,
        doc: {
          '@timestamp': p['@timestamp'],
          ...(p.http?.request?.id ? { http: { request: { id: p.http.request.id } } } : {}),
          mlmon: {
            model: p.mlmon.model,
            prediction: { id, label, score },
            feedback,
            ...(pair ? { shadow: { active: { version: pair.active.version, prediction_id: pair.active.prediction_id } } } : {}),
            labeled: {
              status: 'joined',
              positive: y,
              predicted_positive: predicted,
              correct: y === predicted ? 1 : 0,
              ...(pair ? { active_correct: pair.active.label === f.trueLabel ? 1 : 0 } : {}),
              log_loss: -(y * Math.log(clipped) + (1 - y) * Math.log(1 - clipped)),
              brier: (score - y) ** 2,
              // The ROC AUC histogram bins the logit: the same order as the score, but scores piled up near 0
              // and 1 spread over many bins, which keeps the AUC's binning error small where models are confident.
              logit: Math.log(clipped) - Math.log(1 - clipped),
            },
          },
        },
      },
    ];
  }
}
