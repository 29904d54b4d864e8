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
  MLMON_ANALYZER_MIN_PREDICTIONS: setting(positiveInt.default(30), { description: 'Drift needs this many predictions in the window.', aliases: ['ANALYZER_MIN_PREDICTIONS'] }),
  MLMON_ANALYZER_PSI_THRESHOLD: setting(z.coerce.number().positive().default(0.2), { description: 'A feature counts as drifted when its PSI is at least this and its adjusted p-value is below MLMON_ANALYZER_ALPHA.', aliases: ['ANALYZER_PSI_THRESHOLD'] }),
  MLMON_ANALYZER_ALPHA: setting(z.coerce.number().gt(0).lt(1).default(0.05), { description: "Significance level of the drift tests, and 1 minus the confidence of the canary's accuracy-difference interval.", aliases: ['ANALYZER_ALPHA'] }),
  MLMON_ANALYZER_REFERENCE_PROFILE: setting(z.string().default(`${REPO_ROOT}model/artifacts/reference_profile.json`), {
    description: 'The training reference drift is measured against (model/train.py writes it).',
    aliases: ['REFERENCE_PROFILE'],
    shownDefault: '<repo>/model/artifacts/reference_profile.json',
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
