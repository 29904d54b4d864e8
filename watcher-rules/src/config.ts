import os from 'node:os';
import { z } from 'zod';
import { ALERT_SEVERITIES, DEFAULT_LOG_DIR, LOG_DIR_VAR } from '@mlmon/contract';
import { booleanFlag, esConfigShape, loadConfig } from '@mlmon/runtime';
import { parseDuration } from './watcher/duration.js';
import { WATCHES_DIR, type Deployment } from './load.js';

const positiveInt = z.coerce.number().int().positive();

export const runnerConfigShape = {
  ...esConfigShape,
  /** Where the alert events go (`rule-runner.ndjson`), beside the other services' logs, for the shipper. */
  [LOG_DIR_VAR]: z.string().default(DEFAULT_LOG_DIR),
  LOG_STDOUT: booleanFlag.default(false),
  RULES_DIR: z.string().default(WATCHES_DIR),
  /** Run only these watches (comma-separated ids). */
  RULES_ONLY: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .optional(),
  /** Runs every watch at this interval instead of its own, e.g. 5s for a demo. */
  RULES_INTERVAL: z
    .string()
    .refine((v) => {
      try {
        return parseDuration(v) > 0;
      } catch {
        return false;
      }
    }, 'must be a duration such as 10s or 1m')
    .optional(),
  /** This runner's name in leases and history records. */
  RULES_NODE: z.string().min(1).default(`${os.hostname()}-${process.pid}`),
  /** The remediator's base URL; remediation webhooks POST to <url>/v1/hooks/<action>. */
  REMEDIATOR_URL: z.url().default('http://127.0.0.1:8070'),
  /** Bearer token the remediator expects. */
  REMEDIATOR_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A PEM file of CA certificates that webhook actions trust besides the system ones, as Watcher's xpack.http.ssl.certificate_authorities (the remediator over HTTPS with the stack's own CA). */
  WEBHOOK_CA_CERT: z.string().min(1).optional(),
  /** A Slack-compatible incoming-webhook URL: when set, every rule of at least NOTIFY_MIN_SEVERITY also notifies there. */
  NOTIFY_WEBHOOK_URL: z.url().optional(),
  NOTIFY_MIN_SEVERITY: z.enum(ALERT_SEVERITIES).default('warning'),
  /** Extra attempts of a webhook after a connection error, a timeout, 429 or 5xx; Watcher itself does not retry. */
  RULES_WEBHOOK_RETRIES: z.coerce.number().int().nonnegative().default(2),
  RULES_WEBHOOK_BACKOFF_MS: positiveInt.default(500),
  STATUS_INTERVAL_S: z.coerce.number().positive().default(60),
};

export type RunnerConfig = z.infer<z.ZodObject<typeof runnerConfigShape>>;

export function loadRunnerConfig(env?: Record<string, string | undefined>): RunnerConfig {
  return loadConfig(runnerConfigShape, env);
}

/** The `${NAME}` values watches may use. */
export function deploymentOf(c: RunnerConfig): Deployment {
  return {
    MLMON_INDEX_PREFIX: c.MLMON_INDEX_PREFIX,
    REMEDIATOR_URL: c.REMEDIATOR_URL.replace(/\/$/, ''),
    REMEDIATOR_TOKEN: c.REMEDIATOR_TOKEN ?? '',
    NOTIFY_WEBHOOK_URL: c.NOTIFY_WEBHOOK_URL,
  };
}
