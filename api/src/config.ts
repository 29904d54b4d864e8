import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LOG_DIR, LOG_DIR_VAR } from '@mlmon/contract';
import { booleanFlag, loadConfig, portNumber } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const positiveInt = z.coerce.number().int().positive();
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

export const apiConfigShape = {
  /** 0 picks a free port (tests); the chosen one is printed and logged. */
  PORT: portNumber.or(z.literal(0).or(z.literal('0')).transform(() => 0)).default(9001),
  /** Replicas listen on loopback; nginx is the only way in. */
  HOST: z.string().default('127.0.0.1'),
  /** `service.node.name` in every line; defaults to replica-<PORT>. */
  REPLICA_ID: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "_" or "-"').optional(),
  /**
   * Name the replica after its host when REPLICA_ID is unset: replicas scaled by an engine
   * (docker compose --scale, a Deployment) share one environment, and only the container's
   * hostname tells them apart, in their log file names among others.
   */
  REPLICA_ID_FROM_HOSTNAME: booleanFlag.default(false),
  [LOG_DIR_VAR]: z.string().default(DEFAULT_LOG_DIR),
  LOG_STDOUT: booleanFlag.default(false),
  /** Off only to measure what per-prediction logging costs (npm run bench:api). */
  LOG_PREDICTIONS: booleanFlag.default(true),
  LOG_MAX_BYTES: positiveInt.default(50 * 1024 * 1024),
  LOG_MAX_FILES: positiveInt.default(5),
  MODEL_DIR: z.string().default(`${REPO_ROOT}model/artifacts`),
  /** Versions made by the remediator's retrain job: loaded at start, and when the serving state first names one. */
  RETRAINED_MODEL_DIR: z.string().optional(),
  ACTIVE_MODEL: z.string().default('v1'),
  /** Shared by all replicas so that a rollback reaches every one and survives restarts. */
  MODEL_STATE_FILE: z.string().optional(),
  MAX_BATCH: positiveInt.default(64),
  /** nginx uses the same limit (client_max_body_size). */
  BODY_LIMIT_BYTES: positiveInt.default(128 * 1024),
  /** Bearer token for /admin; admin answers 403 when unset. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  RESOURCE_INTERVAL_S: z.coerce.number().positive().default(10),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(15_000),
  /** Context fields (`{"context": {...}}` on a prediction) that are personal data: logged only as a keyed pseudonym. */
  PSEUDONYMIZE_FIELDS: list.prefault('patient_id'),
  /**
   * The HMAC key of those pseudonyms (32+ characters, from a secret store; never logged). Without
   * it, sensitive context fields are dropped from the log instead: nothing leaks by default.
   */
  PSEUDONYM_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Features left out of the logged line (the model still sees them), e.g. a quasi-identifier. */
  LOG_DROP_FEATURES: list.prefault(''),
  /** Features logged rounded to a step, `name:step,...`, e.g. `mean_area:50`. */
  LOG_COARSEN_FEATURES: z
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
  /** Feedback for a prediction older than this is refused as unknown. */
  FEEDBACK_MAX_AGE_DAYS: positiveInt.default(30),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiConfigShape>> & { REPLICA_ID: string };

export function loadApiConfig(env?: Record<string, string | undefined>): ApiConfig {
  const c = loadConfig(apiConfigShape, env);
  return { ...c, REPLICA_ID: c.REPLICA_ID ?? (c.REPLICA_ID_FROM_HOSTNAME ? `replica-${os.hostname()}` : `replica-${c.PORT}`) };
}
