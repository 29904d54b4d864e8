import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@mlmon/runtime';
import { collect, collectLabeled, groupsOf, groupTerms, rejectedQuery, timeRange, type GroupTerms, type TimeRange } from './collect.js';
import { deserializeRaw, groupKey, mergeRaw, serializeRaw, type RawWindow } from './raw.js';
import { aggregationsOnly, type AnalysisContext, type ModelKey } from './context.js';
import { finish, type WindowReport } from './window.js';
import type { VersionJudgments } from './judgment/registry.js';

export interface SliceStoreOptions {
  /** Slice width = the service's tick; slices start at multiples of it. */
  intervalMs: number;
  windows: Array<{ name: string; ms: number }>;
  /** How late a prediction or rejected-input warning may be indexed and still be counted (see README). */
  lateHorizonMs: number;
  /** Folder of the persisted copy (one file per non-empty slice); none: memory only. */
  dir?: string;
  say?: (message: string) => void;
}

export interface UpdateStats {
  /** Slices collected (new, or changed by late predictions or warnings). */
  collected: number;
  /** Slices whose labeled part was re-collected after the join changed it. */
  relabeled: number;
  /** Start of the range the census checked. */
  checkedFrom: number;
}

/** What the census sees of one slice: predictions per group and rejected-input warnings. */
interface Census {
  groups: Map<string, { model: ModelKey; count: number }>;
  rejected: number;
}

/**
 * Per-tick slices of raw buckets (raw.ts), from which every configured window
 * is merged: a tick costs one new slice plus a merge, whatever the window
 * holds. A slice is kept current under late data:
 *
 * - predictions and rejected-input warnings are append-only, so a slice
 *   changed exactly when its counts did: every tick one cheap census (a
 *   date_histogram of counts per slice and group) covers the late horizon,
 *   and the slices whose counts moved are collected again;
 * - labels change labeled documents in place (a later feedback replaces an
 *   earlier one): the Joiner names the slices it touched, and their labeled
 *   part is collected again.
 *
 * Slices older than the longest window are dropped, in memory and on disk.
 */
export class SliceStore {
  private readonly slices = new Map<number, RawWindow>();
  private readonly onDisk = new Set<number>();
  private readonly fingerprint: string;
  readonly longestMs: number;
  private readonly horizonMs: number;

  constructor(
    private readonly ctx: AnalysisContext,
    private readonly opts: SliceStoreOptions,
  ) {
    const { intervalMs, windows } = opts;
    if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new Error(`MLMON_ANALYZER_INTERVAL must be a whole number of milliseconds, got ${intervalMs} ms`);
    const odd = windows.filter((w) => w.ms % intervalMs !== 0);
    if (odd.length > 0) throw new Error(`MLMON_ANALYZER_WINDOWS: ${odd.map((w) => w.name).join(', ')} is not a multiple of MLMON_ANALYZER_INTERVAL (${intervalMs} ms)`);
    this.longestMs = Math.max(...windows.map((w) => w.ms));
    this.horizonMs = Math.min(opts.lateHorizonMs, this.longestMs);
    // A slice persisted under another reference profile, tick width or bucket format has other buckets: it is not reused.
    const r = ctx.reference;
    this.fingerprint = createHash('sha256')
      .update(JSON.stringify([SLICE_FORMAT, intervalMs, r.positiveLabel, r.featureNames, [...r.features.values()].map((d) => d.boundaries), [...r.scores].map(([v, d]) => [v, d.boundaries])]))
      .digest('hex')
      .slice(0, 16);
    if (opts.dir) this.load(opts.dir);
  }

  /** Slices held in memory (at most longest window / interval). */
  get size(): number {
    return this.slices.size;
  }

  /** Slice starts in [from, to). */
  private starts(from: number, to: number): number[] {
    const out: number[] = [];
    for (let s = from; s < to; s += this.opts.intervalMs) out.push(s);
    return out;
  }

  /**
   * Brings every slice of [t − longest window, t) up to date for the tick `t`:
   * drops older slices, collects missing ones and those the census finds
   * changed (from `checkFrom`, by default t − late horizon), and re-collects
   * the labeled part of the `pending` slices.
   */
  async update(t: number, opts: { pending?: number[]; checkFrom?: number } = {}): Promise<UpdateStats> {
    const { intervalMs } = this.opts;
    if (t % intervalMs !== 0) throw new Error(`tick ${new Date(t).toISOString()} is not a multiple of the interval`);
    const from = t - this.longestMs;
    for (const s of [...this.slices.keys()]) if (s < from || s >= t) this.drop(s);
    for (const s of [...this.onDisk]) if (s < from) this.drop(s);
    const all = this.starts(from, t);
    const firstMissing = all.find((s) => !this.slices.has(s)) ?? t;
    const checkFrom = Math.max(from, Math.min(opts.checkFrom ?? t - this.horizonMs, firstMissing));
    const census = await this.census({ start: checkFrom, end: t });
    const stats: UpdateStats = { collected: 0, relabeled: 0, checkedFrom: checkFrom };
    const fresh = new Set<number>();
    const started = Date.now();
    let said = started;
    const toCheck = this.starts(checkFrom, t);
    for (const s of toCheck) {
      const c = census.get(s) ?? { groups: new Map(), rejected: 0 };
      const have = this.slices.get(s);
      if (have && matches(have, c)) continue;
      const slice: RawWindow =
        c.groups.size === 0 && c.rejected === 0
          ? { start: s, end: s + intervalMs, groups: [], rejected: { total: 0, byFeature: new Map() } }
          : await collect(this.ctx, { start: s, end: s + intervalMs }, { groups: [...c.groups.values()].map((g) => g.model) });
      await this.put(slice);
      fresh.add(s);
      stats.collected += 1;
      if (Date.now() - said > 10_000) {
        said = Date.now();
        this.opts.say?.(`collecting slices: ${stats.collected} of up to ${toCheck.length} (${Math.round((said - started) / 1000)} s)`);
      }
    }
    for (const s of new Set(opts.pending ?? [])) {
      const slice = this.slices.get(s);
      if (!slice || fresh.has(s) || slice.groups.length === 0) continue;
      const r = { start: s, end: s + intervalMs };
      for (const g of slice.groups) g.labeled = await collectLabeled(this.ctx, r, g.model);
      await this.put(slice);
      stats.relabeled += 1;
    }
    return stats;
  }

  /**
   * The report of window `w` ending at tick `t`: the merge of its slices, finished. Call update(t) first.
   * Every group with predictions in the longest window is in it, with count 0 where `w` holds none of them.
   */
  report(t: number, w: { name: string; ms: number }): WindowReport {
    const slice = (s: number) => {
      const found = this.slices.get(s);
      if (!found) throw new Error(`slice ${new Date(s).toISOString()} is missing: update(${new Date(t).toISOString()}) first`);
      return found;
    };
    const known = new Map<string, ModelKey>();
    for (const s of this.starts(t - this.longestMs, t)) for (const g of slice(s).groups) if (g.count > 0) known.set(groupKey(g.model), g.model);
    const parts = this.starts(t - w.ms, t).map(slice);
    return finish(this.ctx, mergeRaw(parts, { start: t - w.ms, end: t }), w.name, [...known.values()]);
  }

  /** Forgets a slice as if it had never been collected (the next update collects it). */
  forget(start: number): void {
    this.drop(start);
  }

  /** One search per index family: counts per slice (and per group) in a range, the cheap check behind late data. */
  private async census(r: TimeRange): Promise<Map<number, Census>> {
    const out = new Map<number, Census>();
    if (r.end <= r.start) return out;
    const slices = { date_histogram: { field: '@timestamp', fixed_interval: `${this.opts.intervalMs}ms`, min_doc_count: 1 } } as const;
    type Buckets<T> = { buckets: Array<{ key: number; doc_count: number } & T> };
    const common = aggregationsOnly(this.ctx);
    const [pred, rej] = await Promise.all([
      this.ctx.client.search({ ...common, index: `${this.ctx.prefix}-predictions-*`, query: { bool: { filter: [timeRange(r)] } }, aggs: { slices: { ...slices, aggs: { groups: groupTerms() } } } }),
      this.ctx.client.search({ ...common, index: `${this.ctx.prefix}-events-*`, query: rejectedQuery(r), aggs: { slices } }),
    ]);
    const at = (key: number) => {
      let c = out.get(key);
      if (!c) out.set(key, (c = { groups: new Map(), rejected: 0 }));
      return c;
    };
    for (const b of (pred.aggregations?.slices as Buckets<{ groups: GroupTerms }> | undefined)?.buckets ?? []) {
      const c = at(b.key);
      for (const g of groupsOf(b.groups)) c.groups.set(groupKey(g.model), g);
    }
    for (const b of (rej.aggregations?.slices as Buckets<object> | undefined)?.buckets ?? []) at(b.key).rejected = b.doc_count;
    return out;
  }

  private async put(slice: RawWindow): Promise<void> {
    this.slices.set(slice.start, slice);
    const dir = this.opts.dir;
    if (!dir) return;
    const file = path.join(dir, `${slice.start}.json`);
    // Empty slices are not written: after a restart the census finds them empty again without a search.
    if (slice.groups.length === 0 && slice.rejected.total === 0) {
      if (this.onDisk.delete(slice.start)) rmSync(file, { force: true });
      return;
    }
    await writeFileAtomic(file, JSON.stringify({ fingerprint: this.fingerprint, slice: serializeRaw(slice) }));
    this.onDisk.add(slice.start);
  }

  private drop(start: number): void {
    this.slices.delete(start);
    if (this.opts.dir && this.onDisk.delete(start)) rmSync(path.join(this.opts.dir, `${start}.json`), { force: true });
  }

  private load(dir: string): void {
    mkdirSync(dir, { recursive: true });
    let kept = 0;
    for (const name of readdirSync(dir)) {
      if (!/^-?\d+\.json$/.test(name)) continue;
      const file = path.join(dir, name);
      try {
        const o = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string; slice: unknown };
        const slice = deserializeRaw(o.slice);
        if (o.fingerprint !== this.fingerprint || slice.end - slice.start !== this.opts.intervalMs) throw new Error('made for another reference profile or interval');
        // CBPE's cells follow each version's reference.json: a slice of other cells would not merge with new ones.
        if (slice.groups.some((g) => g.cbpe?.layout !== layoutOf(this.ctx.judgments.of(g.model.version)))) throw new Error("made under another version's reference.json");
        this.slices.set(slice.start, slice);
        this.onDisk.add(slice.start);
        kept += 1;
      } catch (err) {
        // A slice is only a cache of what Elasticsearch holds: an unreadable one is collected again.
        this.opts.say?.(`slice ${file} not reused (${(err as Error).message}); it will be collected again`);
        rmSync(file, { force: true });
      }
    }
    if (kept > 0) this.opts.say?.(`reusing ${kept} persisted slices from ${dir}`);
  }
}

/** Raises when the buckets a slice holds change shape (RawGroup's fields): older files are collected again. */
const SLICE_FORMAT = 2;

const layoutOf = (j: VersionJudgments | { missing: string }) => ('layout' in j ? j.layout : undefined);

/** Whether a slice holds exactly what the census counts now (append-only data: same counts, same documents). */
function matches(slice: RawWindow, c: Census): boolean {
  if (slice.rejected.total !== c.rejected) return false;
  const groups = slice.groups.filter((g) => g.count > 0);
  return groups.length === c.groups.size && groups.every((g) => c.groups.get(groupKey(g.model))?.count === g.count);
}
