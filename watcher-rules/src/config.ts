import os from 'node:os';
import { z } from 'zod';
import { commaList, esConfigShape, loadConfig, logDirSetting, logStdoutSetting, positiveDuration, secretToken, setting } from '@mlmon/runtime';
import { WATCHES_DIR, type Deployment } from './load.js';

export const runnerConfigShape = {
  ...esConfigShape,
  MLMON_LOG_DIR: logDirSetting('the runner writes its alert events (`rule-runner.ndjson`)'),
  MLMON_LOG_STDOUT: logStdoutSetting(),
  MLMON_RULES_DIR: setting(z.string().default(WATCHES_DIR), { description: 'The watch files (one JSON per rule).', aliases: ['RULES_DIR'], shownDefault: '<repo>/watcher-rules/watches' }),
  MLMON_RULES_ONLY: setting(commaList.optional(), { description: 'Run only these watches (comma-separated ids).', aliases: ['RULES_ONLY'] }),
  MLMON_RULES_INTERVAL: setting(positiveDuration.optional(), { description: 'Run every watch at this interval instead of its own, e.g. 5s for a demo.', aliases: ['RULES_INTERVAL'] }),
  MLMON_RULES_NODE: setting(z.string().min(1).default(`${os.hostname()}-${process.pid}`), {
    description: "This runner's name in leases and history records.",
    aliases: ['RULES_NODE'],
    shownDefault: '<host name>-<pid>',
  }),
  MLMON_REMEDIATOR_URL: setting(z.url().default('http://127.0.0.1:8070'), {
    description: "The remediator's base URL; remediation webhooks POST to <url>/v1/hooks/<action> (`${MLMON_REMEDIATOR_URL}` in the watches).",
    aliases: ['REMEDIATOR_URL'],
  }),
  MLMON_REMEDIATOR_TOKEN: setting(secretToken.optional(), {
    description: 'Bearer token the remediator expects (`${MLMON_REMEDIATOR_TOKEN}` in the watches).',
    secret: true,
    aliases: ['REMEDIATOR_TOKEN'],
  }),
  MLMON_RULES_WEBHOOK_CA_CERT: setting(z.string().min(1).optional(), {
    description:
      "A PEM file of CA certificates that webhook actions trust besides the system ones, as Watcher's xpack.http.ssl.certificate_authorities (the remediator over HTTPS with the stack's own CA).",
    aliases: ['WEBHOOK_CA_CERT'],
  }),
  MLMON_ALERTMANAGER_URL: setting(z.url().optional(), {
    description:
      'Prometheus Alertmanager (`mlmon up` starts one on http://127.0.0.1:9093): the runner posts every firing and every resolution there (API v2), and `rules install` gives each Watcher watch a webhook action to it. Unset: no notification, remediation webhooks only.',
  }),
  MLMON_RULES_WEBHOOK_RETRIES: setting(z.coerce.number().int().nonnegative().default(2), {
    description: 'Extra attempts of a webhook after a connection error, a timeout, 429 or 5xx; Watcher itself does not retry.',
    aliases: ['RULES_WEBHOOK_RETRIES'],
  }),
  MLMON_RULES_WEBHOOK_BACKOFF: setting(positiveDuration.prefault('500ms'), {
    description: 'Wait before the first retry of a webhook, doubled for each next one.',
    aliases: [{ name: 'RULES_WEBHOOK_BACKOFF_MS', unit: 'ms' }],
  }),
  MLMON_RULES_STATUS_INTERVAL: setting(positiveDuration.prefault('1m'), { description: 'How often the runner writes its status line.', aliases: [{ name: 'STATUS_INTERVAL_S', unit: 's' }] }),
};

export type RunnerConfig = z.infer<z.ZodObject<typeof runnerConfigShape>>;

export function loadRunnerConfig(env?: Record<string, string | undefined>): RunnerConfig {
  return loadConfig(runnerConfigShape, env);
}

/** The `${NAME}` values watches may use: the settings of those names. */
export function deploymentOf(c: RunnerConfig): Deployment {
  const deployment = {
    MLMON_INDEX_PREFIX: c.MLMON_INDEX_PREFIX,
    MLMON_REMEDIATOR_URL: c.MLMON_REMEDIATOR_URL.replace(/\/$/, ''),
    MLMON_REMEDIATOR_TOKEN: c.MLMON_REMEDIATOR_TOKEN ?? '',
  };
  // For one release, a watch of one's own written before the settings were renamed still loads.
  return {
    ...deployment,
    REMEDIATOR_URL: deployment.MLMON_REMEDIATOR_URL,
    REMEDIATOR_TOKEN: deployment.MLMON_REMEDIATOR_TOKEN,
  };
}
