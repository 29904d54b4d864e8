import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { booleanFlag, commaList, loadConfig, logDirSetting, logStdoutSetting, portOrAny, positiveDuration, positiveInt, secretToken, setting } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const apiConfigShape = {
  MLMON_API_PORT: setting(portOrAny.default(9001), { description: 'Port the replica listens on; 0 picks a free one (tests), which is printed and logged.', aliases: ['PORT'] }),
  MLMON_API_HOST: setting(z.string().default('127.0.0.1'), { description: 'Address the replica listens on: loopback, so nginx is the only way in.', aliases: ['HOST'] }),
  MLMON_API_REPLICA_ID: setting(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "_" or "-"').optional(), {
    description: '`service.node.name` in every line and the log file name; unset: replica-<MLMON_API_PORT>.',
    aliases: ['REPLICA_ID'],
  }),
  MLMON_API_REPLICA_ID_FROM_HOSTNAME: setting(booleanFlag.default(false), {
    description: 'Name the replica replica-<hostname> when MLMON_API_REPLICA_ID is unset (replicas scaled by compose or a Deployment share one environment).',
    aliases: ['REPLICA_ID_FROM_HOSTNAME'],
  }),
  MLMON_LOG_DIR: logDirSetting('the replica writes its prediction, feedback, resource and app lines'),
  MLMON_LOG_STDOUT: logStdoutSetting(),
  MLMON_API_LOG_PREDICTIONS: setting(booleanFlag.default(true), { description: 'Off only to measure what per-prediction logging costs (npm run bench:api).', aliases: ['LOG_PREDICTIONS'] }),
  MLMON_API_OOD_SCORE: setting(booleanFlag.default(true), {
    description: "Log each prediction's out-of-distribution score (its reconstruction error against the version's reference.json); off only to measure what it costs (npm run bench:api).",
  }),
  MLMON_API_LOG_MAX_BYTES: setting(positiveInt.default(50 * 1024 * 1024), { description: 'The log file is rotated at this size.', aliases: ['LOG_MAX_BYTES'] }),
  MLMON_API_LOG_MAX_FILES: setting(positiveInt.default(5), { description: 'Rotated files kept.', aliases: ['LOG_MAX_FILES'] }),
  MLMON_API_MODEL_DIR: setting(z.string().default(`${REPO_ROOT}model/artifacts`), {
    description: 'The model versions (ONNX files and their metadata) loaded at start.',
    aliases: ['MODEL_DIR'],
    shownDefault: '<repo>/model/artifacts',
  }),
  MLMON_API_RETRAINED_MODEL_DIR: setting(z.string().optional(), {
    description: "Versions made by the remediator's retrain job (its MLMON_RETRAIN_OUTPUT_DIR): loaded at start, and when the serving state first names one.",
    aliases: ['RETRAINED_MODEL_DIR'],
  }),
  MLMON_API_ACTIVE_MODEL: setting(z.string().default('v1'), { description: 'The version served until the serving state says otherwise.', aliases: ['ACTIVE_MODEL'] }),
  MLMON_API_MODEL_STATE_FILE: setting(z.string().optional(), {
    description: 'The serving state (active, canary, shadow), shared by all replicas so that a rollback reaches every one and survives restarts.',
    aliases: ['MODEL_STATE_FILE'],
  }),
  MLMON_API_SHADOW_QUEUE_SIZE: setting(positiveInt.default(1000), {
    description: 'Shadow copies a replica holds at most (waiting, running, or timed out and not yet settled); a copy that finds the queue full is dropped and counted, never the live request.',
  }),
  MLMON_API_SHADOW_TIMEOUT: setting(positiveDuration.prefault('2s'), {
    description: 'A shadow copy running longer is given up (counted as a timeout, its answer never logged), so a hanging shadow frees its slots.',
  }),
  MLMON_API_MAX_BATCH: setting(positiveInt.default(64), { description: 'Most instances in one request.', aliases: ['MAX_BATCH'] }),
  MLMON_API_BODY_LIMIT_BYTES: setting(positiveInt.default(128 * 1024), { description: 'Largest request body; nginx uses the same limit (client_max_body_size).', aliases: ['BODY_LIMIT_BYTES'] }),
  MLMON_API_ADMIN_TOKEN: setting(secretToken.optional(), {
    description: 'Bearer token of /admin (rollback, canary, shadow); /admin answers 403 when unset.',
    secret: true,
    aliases: ['ADMIN_TOKEN'],
  }),
  MLMON_API_RESOURCE_INTERVAL: setting(positiveDuration.prefault('10s'), { description: 'How often the replica writes its resource line.', aliases: [{ name: 'RESOURCE_INTERVAL_S', unit: 's' }] }),
  MLMON_API_SHUTDOWN_TIMEOUT: setting(positiveDuration.prefault('15s'), {
    description: 'On SIGTERM, how long in-flight requests may take before the replica exits anyway.',
    aliases: [{ name: 'SHUTDOWN_TIMEOUT_MS', unit: 'ms' }],
  }),
  MLMON_API_PSEUDONYMIZE_FIELDS: setting(commaList.prefault('patient_id'), {
    description: 'Context fields (`{"context": {...}}` on a prediction) that are personal data: logged only as a keyed pseudonym.',
    aliases: ['PSEUDONYMIZE_FIELDS'],
  }),
  MLMON_API_PSEUDONYM_KEY: setting(z.string().min(32, 'must be at least 32 characters').optional(), {
    description: 'The HMAC key of those pseudonyms (32+ characters, from a secret store). Without it, sensitive context fields are dropped from the log instead: nothing leaks by default.',
    secret: true,
    aliases: ['PSEUDONYM_KEY'],
  }),
  MLMON_API_LOG_DROP_FEATURES: setting(commaList.prefault(''), { description: 'Features left out of the logged line (the model still sees them), e.g. a quasi-identifier.', aliases: ['LOG_DROP_FEATURES'] }),
  MLMON_API_LOG_COARSEN_FEATURES: setting(
    z
      .string()
      .transform((v, ctx) => {
        const steps = new Map<string, number>();
        for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
          const [name, step] = part.split(':');
          const n = Number(step);
          if (!name || !(n > 0)) ctx.addIssue({ code: 'custom', message: `"${part}" is not name:step with a positive step` });
          else steps.set(name, n);
        }
        return steps;
      })
      .prefault(''),
    { description: 'Features logged rounded to a step, `name:step,...`, e.g. `mean_area:50`.', aliases: ['LOG_COARSEN_FEATURES'] },
  ),
  MLMON_API_FEEDBACK_MAX_AGE: setting(positiveDuration.prefault('30d'), {
    description: 'Feedback for a prediction older than this is refused as unknown.',
    aliases: [{ name: 'FEEDBACK_MAX_AGE_DAYS', unit: 'd' }],
  }),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiConfigShape>> & { MLMON_API_REPLICA_ID: string };

export function loadApiConfig(env?: Record<string, string | undefined>): ApiConfig {
  const c = loadConfig(apiConfigShape, env);
  return {
    ...c,
    MLMON_API_REPLICA_ID: c.MLMON_API_REPLICA_ID ?? (c.MLMON_API_REPLICA_ID_FROM_HOSTNAME ? `replica-${os.hostname()}` : `replica-${c.MLMON_API_PORT}`),
  };
}
