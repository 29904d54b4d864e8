import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LOG_DIR, LOG_DIR_VAR } from '@mlmon/contract';
import { booleanFlag, esConfigShape, loadConfig } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const positiveInt = z.coerce.number().int().positive();

/** `5m`, `1h`, `30s`, `1d` → milliseconds. */
const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const windowList = z
  .string()
  .transform((v) => v.split(',').map((w) => w.trim()).filter((w) => w !== ''))
  .refine((ws) => ws.length > 0 && ws.every((w) => /^\d+[smhd]$/.test(w)), 'must be durations like 5m,1h (units s, m, h, d)')
  .transform((ws) => ws.map((name) => ({ name, ms: Number(name.slice(0, -1)) * UNITS[name.at(-1) as keyof typeof UNITS] })));

export const analyzerConfigShape = {
  ...esConfigShape,
  /** How often windows are computed; window ends are multiples of it. */
  ANALYZER_INTERVAL_S: z.coerce.number().positive().default(15),
  /** Sliding windows, each ending at every tick. */
  ANALYZER_WINDOWS: windowList.prefault('5m,1h'),
  /**
   * How late a prediction or rejected-input warning may be indexed (shipper lag) and still be counted:
   * every tick re-checks the slices this far back. After an outage or a restart every kept slice is
   * re-checked for this long once Elasticsearch answers.
   */
  ANALYZER_LATE_HORIZON_S: positiveInt.default(300),
  /** After an outage, ticks older than this are skipped (and said so) instead of computed. */
  ANALYZER_MAX_CATCHUP_S: positiveInt.default(6 * 3600),
  /** Quality ratios need this many labeled predictions to count as sufficient. */
  ANALYZER_MIN_LABELED: positiveInt.default(30),
  /** Drift needs this many predictions in the window. */
  ANALYZER_MIN_PREDICTIONS: positiveInt.default(30),
  ANALYZER_PSI_THRESHOLD: z.coerce.number().positive().default(0.2),
  ANALYZER_ALPHA: z.coerce.number().gt(0).lt(1).default(0.05),
  REFERENCE_PROFILE: z.string().default(`${REPO_ROOT}model/artifacts/reference_profile.json`),
  /** Where the metric events are written, for the log shipper: the same folder as the api's logs. */
  [LOG_DIR_VAR]: z.string().default(DEFAULT_LOG_DIR),
  LOG_STDOUT: booleanFlag.default(false),
  /** The join checkpoints and the next window tick. */
  ANALYZER_STATE_DIR: z.string().default(`${REPO_ROOT}run/analyzer`),
  ANALYZER_NODE: z.string().min(1).default(os.hostname()),
  /** Install the index templates at start (as the shipper does). */
  ANALYZER_SETUP_TEMPLATES: booleanFlag.default(true),
};

export type AnalyzerConfig = z.infer<z.ZodObject<typeof analyzerConfigShape>>;

export function loadAnalyzerConfig(env?: Record<string, string | undefined>): AnalyzerConfig {
  return loadConfig(analyzerConfigShape, env);
}
