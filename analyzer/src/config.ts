import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { booleanFlag, durationList, esConfigShape, loadConfig, logDirSetting, logStdoutSetting, positiveDuration, positiveInt, setting } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const analyzerConfigShape = {
  ...esConfigShape,
  MLMON_ANALYZER_INTERVAL: setting(positiveDuration.prefault('15s'), {
    description: 'How often windows are computed; window ends are multiples of it.',
    aliases: [{ name: 'ANALYZER_INTERVAL_S', unit: 's' }],
  }),
  MLMON_ANALYZER_WINDOWS: setting(durationList.prefault('1m,5m,1h'), {
    description:
      'Sliding windows, each ending at every tick. The judgment rules read 1m, which catches a sudden shift within about a minute (npm run bench:detection); 5m and 1h are the steadier views.',
    aliases: ['ANALYZER_WINDOWS'],
  }),
  MLMON_ANALYZER_LATE_HORIZON: setting(positiveDuration.prefault('5m'), {
    description:
      'How late a prediction or rejected-input warning may be indexed (shipper lag) and still be counted: every tick re-checks the slices this far back. After an outage or a restart every kept slice is re-checked for this long once Elasticsearch answers.',
    aliases: [{ name: 'ANALYZER_LATE_HORIZON_S', unit: 's' }],
  }),
  MLMON_ANALYZER_MAX_CATCHUP: setting(positiveDuration.prefault('6h'), {
    description: 'After an outage, ticks older than this are skipped (and said so) instead of computed.',
    aliases: [{ name: 'ANALYZER_MAX_CATCHUP_S', unit: 's' }],
  }),
  MLMON_ANALYZER_MIN_LABELED: setting(positiveInt.default(30), { description: 'Quality ratios need this many labeled predictions to count as sufficient.', aliases: ['ANALYZER_MIN_LABELED'] }),
  MLMON_ANALYZER_MIN_PREDICTIONS: setting(positiveInt.optional(), {
    description:
      'Drift is computed, and drift, reconstruction drift and the OOD rate are judged, from this many predictions in the window. Unset: one reference chunk (training rows / MLMON_ANALYZER_REFERENCE_CHUNKS, 45), the size the reference thresholds describe.',
    aliases: ['ANALYZER_MIN_PREDICTIONS'],
    shownDefault: 'one reference chunk (45)',
  }),
  MLMON_ANALYZER_ALPHA: setting(z.coerce.number().gt(0).lt(1).default(0.05), { description: "1 minus the confidence of the canary's accuracy-difference interval (and its z-test's level), and the significance level of a shadow's McNemar test against the active version.", aliases: ['ANALYZER_ALPHA'] }),
  MLMON_ANALYZER_SHADOW_MIN_DISCORDANT: setting(positiveInt.default(20), {
    description:
      "A shadow is called significantly better or worse than the active version (McNemar's exact test, p below MLMON_ANALYZER_ALPHA) only on at least this many discordant labeled requests (one version right, the other wrong).",
  }),
  MLMON_ANALYZER_REFERENCE_PROFILE: setting(z.string().default(`${REPO_ROOT}model/artifacts/reference_profile.json`), {
    description: 'The training reference drift is measured against (model/train.py writes it).',
    aliases: ['REFERENCE_PROFILE'],
    shownDefault: '<repo>/model/artifacts/reference_profile.json',
  }),
  MLMON_ANALYZER_CBPE_CALIBRATION: setting(z.enum(['auto', 'always', 'never']).default('auto'), {
    description:
      "CBPE's calibration of the scores: `auto` decides as NannyML does (isotonic when it lowers the expected calibration error on held-out folds of the version's holdout); `always` or `never` pin the decision, e.g. to what a NannyML run on another CPU decided.",
  }),
  MLMON_ANALYZER_REFERENCE_CHUNKS: setting(z.coerce.number().int().min(2).default(10), {
    description: "Every reference threshold is mean ± 3 standard deviations over this many chunks of the reference (NannyML's default chunker: 10).",
  }),
  MLMON_ANALYZER_MODEL_DIR: setting(z.string().default(`${REPO_ROOT}model/artifacts`), {
    description: "Where each version's reference.json is (<dir>/<version>/reference.json): the committed versions. Without one a version gets no CBPE, reconstruction drift or OOD rate.",
    shownDefault: '<repo>/model/artifacts',
  }),
  MLMON_ANALYZER_RETRAINED_MODEL_DIR: setting(z.string().optional(), {
    description: "The same for the versions the remediator's retrain job made (the api's MLMON_API_RETRAINED_MODEL_DIR); `mlmon up` sets it.",
  }),
  MLMON_LOG_DIR: logDirSetting('the analyzer writes its app lines'),
  MLMON_LOG_STDOUT: logStdoutSetting(),
  MLMON_ANALYZER_STATE_DIR: setting(z.string().default(`${REPO_ROOT}run/analyzer`), {
    description: 'The join checkpoints and the next window tick.',
    aliases: ['ANALYZER_STATE_DIR'],
    shownDefault: '<repo>/run/analyzer',
  }),
  MLMON_ANALYZER_NODE: setting(z.string().min(1).default(os.hostname()), { description: "`service.node.name` of the analyzer's lines.", aliases: ['ANALYZER_NODE'], shownDefault: 'the host name' }),
  MLMON_ANALYZER_SETUP_TEMPLATES: setting(booleanFlag.default(true), {
    description: 'Install the index templates at start, as the shipper does (off where the setup job installs them).',
    aliases: ['ANALYZER_SETUP_TEMPLATES'],
  }),
};

export type AnalyzerConfig = z.infer<z.ZodObject<typeof analyzerConfigShape>>;

export function loadAnalyzerConfig(env?: Record<string, string | undefined>): AnalyzerConfig {
  return loadConfig(analyzerConfigShape, env);
}
