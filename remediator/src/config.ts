import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LOG_DIR, LOG_DIR_VAR } from '@mlmon/contract';
import { booleanFlag, ConfigError, esConfigShape, loadConfig, portNumber } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const positiveInt = z.coerce.number().int().positive();
const seconds = z.coerce.number().nonnegative();
const secret = z.string().min(16, 'must be at least 16 characters');

export const BACKENDS = ['supervisor', 'kubernetes', 'docker'] as const;
export const SCALE_OWNERS = ['remediator', 'external'] as const;

export const remediatorConfigShape = {
  ...esConfigShape,
  REMEDIATOR_HOST: z.string().default('127.0.0.1'),
  /** 0 picks a free port (tests); the chosen one is printed. */
  REMEDIATOR_PORT: portNumber.or(z.literal(0).or(z.literal('0')).transform(() => 0)).default(8070),
  /** Bearer token the webhooks require. One of this or the basic pair must be set: the hooks never run open. */
  REMEDIATOR_TOKEN: secret.optional(),
  /** Basic credentials, for callers that only do basic auth (a Watcher webhook's `auth.basic`). */
  REMEDIATOR_BASIC_USER: z.string().min(1).optional(),
  REMEDIATOR_BASIC_PASSWORD: secret.optional(),
  /** PEM files: with both set the webhooks are served over HTTPS, so a token or password never crosses the network in clear. */
  REMEDIATOR_TLS_CERT: z.string().min(1).optional(),
  REMEDIATOR_TLS_KEY: z.string().min(1).optional(),
  /** Decide and record everything, change nothing: run like this first. */
  REMEDIATOR_DRY_RUN: booleanFlag.default(false),
  /** Seen execution ids and recent actions, so a restart keeps idempotency, cooldowns and limits. */
  REMEDIATOR_STATE_FILE: z.string().default(path.join(REPO_ROOT, 'run/remediator/state.json')),
  [LOG_DIR_VAR]: z.string().default(DEFAULT_LOG_DIR),
  REMEDIATOR_LOG_STDOUT: booleanFlag.default(false),
  /** No second action of one kind on one target within this many seconds. */
  REMEDIATOR_COOLDOWN_S: seconds.default(120),
  /** At most this many actions (executed or dry-run) in any hour, all kinds together. */
  REMEDIATOR_MAX_ACTIONS_PER_HOUR: positiveInt.default(6),
  /** A scale-in is refused this long after a scale-out, and the other way round. */
  REMEDIATOR_FLAP_WINDOW_S: seconds.default(300),
  REMEDIATOR_MIN_REPLICAS: positiveInt.default(1),
  REMEDIATOR_MAX_REPLICAS: positiveInt.default(8),
  /** Replicas added or removed per scale action, unless the alert asks for a `step`. */
  REMEDIATOR_SCALE_STEP: positiveInt.default(1),
  /** How long an execution id is remembered for deduplication. */
  REMEDIATOR_DEDUP_DAYS: positiveInt.default(7),
  REMEDIATOR_BACKEND: z.enum(BACKENDS).default('supervisor'),
  /** Who sets the replica count. `external`: an HPA or another autoscaler does, and scale hooks are refused so the two never fight. */
  REMEDIATOR_SCALE_OWNER: z.enum(SCALE_OWNERS).default('remediator'),
  /** The local supervisor's control API (`mlmon up` passes both). */
  SUPERVISOR_URL: z.url().optional(),
  SUPERVISOR_TOKEN: z.string().min(1).optional(),
  /** Kubernetes: the api Deployment whose scale subresource is patched; credentials from KUBECONFIG or the pod's service account. */
  K8S_NAMESPACE: z.string().min(1).default('mlmon'),
  K8S_DEPLOYMENT: z.string().min(1).default('mlmon-api'),
  /** A kubeconfig file; unset: ~/.kube/config, or the pod's service account in a cluster. */
  KUBECONFIG: z.string().min(1).optional(),
  /** Docker: the Engine API (DOCKER_HOST, e.g. unix:///var/run/docker.sock or tcp://host:2375) and the compose service to scale. */
  DOCKER_HOST: z.string().min(1).optional(),
  COMPOSE_PROJECT_NAME: z.string().min(1).default('mlmon'),
  COMPOSE_SERVICE: z.string().min(1).default('api'),
  /** Where the replicas' model admin API is reached (nginx or one replica: the model state is shared), and its token. */
  MODEL_ADMIN_URL: z.url().optional(),
  MODEL_ADMIN_TOKEN: z.string().min(1).optional(),
  /** Retrain: where new versions go (the replicas' RETRAINED_MODEL_DIR), the job's working files, the holdout every version is measured on. */
  RETRAIN_OUTPUT_DIR: z.string().default(path.join(REPO_ROOT, 'run/models')),
  RETRAIN_WORK_DIR: z.string().default(path.join(REPO_ROOT, 'run/remediator/retrain')),
  RETRAIN_HOLDOUT_FILE: z.string().default(path.join(REPO_ROOT, 'model/artifacts/holdout.json')),
  /** The Python that runs model/train.py; unset: model/.venv, created from model/requirements.txt on first use. */
  RETRAIN_PYTHON: z.string().optional(),
  RETRAIN_WINDOW_H: z.coerce.number().positive().default(24),
  RETRAIN_MAX_ROWS: positiveInt.default(20_000),
  RETRAIN_MIN_ROWS: positiveInt.default(100),
  /** Share of traffic a retrained version gets as a canary. */
  RETRAIN_CANARY_WEIGHT: z.coerce.number().gt(0).max(100).default(10),
  /** A retrained version is registered only if its holdout accuracy is at least the active one's minus this. */
  RETRAIN_TOLERANCE: z.coerce.number().min(0).max(1).default(0),
};

export type RemediatorConfig = z.infer<z.ZodObject<typeof remediatorConfigShape>>;

export function loadRemediatorConfig(env?: Record<string, string | undefined>): RemediatorConfig {
  const config = loadConfig(remediatorConfigShape, env);
  if (!config.REMEDIATOR_TOKEN && !(config.REMEDIATOR_BASIC_USER && config.REMEDIATOR_BASIC_PASSWORD)) {
    throw new ConfigError('REMEDIATOR_TOKEN', 'is required (or REMEDIATOR_BASIC_USER and REMEDIATOR_BASIC_PASSWORD): the webhooks never run unauthenticated');
  }
  if ((config.REMEDIATOR_TLS_CERT === undefined) !== (config.REMEDIATOR_TLS_KEY === undefined)) {
    const [set, missing] = config.REMEDIATOR_TLS_CERT ? ['REMEDIATOR_TLS_CERT', 'REMEDIATOR_TLS_KEY'] : ['REMEDIATOR_TLS_KEY', 'REMEDIATOR_TLS_CERT'];
    throw new ConfigError(missing, `is required when ${set} is set: HTTPS needs both the certificate and its private key`);
  }
  if (config.REMEDIATOR_MIN_REPLICAS > config.REMEDIATOR_MAX_REPLICAS) {
    throw new ConfigError('REMEDIATOR_MIN_REPLICAS', `(${config.REMEDIATOR_MIN_REPLICAS}) is above REMEDIATOR_MAX_REPLICAS (${config.REMEDIATOR_MAX_REPLICAS})`);
  }
  return config;
}
