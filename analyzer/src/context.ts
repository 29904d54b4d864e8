import type { Client } from '@elastic/elasticsearch';
import type { Calibration } from './judgment/cbpe.js';
import type { Judgments } from './judgment/registry.js';
import type { Reference } from './reference.js';

/**
 * What an analysis runs with and what names its groups: below collect.ts
 * (the searches), raw.ts (their buckets) and window.ts (the arithmetic), which
 * all need them.
 */

/** A model version serving in one role: the unit every metric is computed for. */
export interface ModelKey {
  name: string;
  version: string;
  role: 'active' | 'canary' | 'pinned' | 'shadow';
}

/** Thresholds and sample sizes; README.md explains each. */
export interface AnalysisSettings {
  minLabeled: number;
  /** Drift, reconstruction drift and the OOD rate are judged from this many predictions; unset: a reference chunk's worth. */
  minPredictions?: number;
  alpha: number;
  psiFloor: number;
  calibration: Calibration;
  referenceChunks: number;
  /** A shadow is significantly better or worse only on at least this many discordant labeled pairs. */
  minDiscordant: number;
}

export const DEFAULT_SETTINGS: AnalysisSettings = { minLabeled: 30, alpha: 0.05, psiFloor: 1e-4, calibration: 'auto', referenceChunks: 10, minDiscordant: 20 };

export interface AnalysisContext {
  client: Client;
  prefix: string;
  reference: Reference;
  settings: AnalysisSettings;
  judgments: Judgments;
  /** Off for benchmarks: a repeated window would otherwise be answered from the shard request cache. */
  requestCache?: boolean;
}

/** What every search of the analyzer shares: aggregations only, cached by Elasticsearch when asked, and a missing index is no data rather than an error. */
export const aggregationsOnly = (ctx: Pick<AnalysisContext, 'requestCache'>) =>
  ({ size: 0, request_cache: ctx.requestCache, allow_no_indices: true, ignore_unavailable: true }) as const;
