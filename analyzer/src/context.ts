import type { Client } from '@elastic/elasticsearch';
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
  role: 'active' | 'canary' | 'pinned';
}

/** Thresholds and sample sizes; README.md explains each. */
export interface AnalysisSettings {
  minLabeled: number;
  minPredictions: number;
  psiThreshold: number;
  alpha: number;
  psiFloor: number;
}

export const DEFAULT_SETTINGS: AnalysisSettings = { minLabeled: 30, minPredictions: 30, psiThreshold: 0.2, alpha: 0.05, psiFloor: 1e-4 };

export interface AnalysisContext {
  client: Client;
  prefix: string;
  reference: Reference;
  settings: AnalysisSettings;
  /** Off for benchmarks: a repeated window would otherwise be answered from the shard request cache. */
  requestCache?: boolean;
}
