import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { booleanFlag, ConfigError, duration, esConfigShape, loadConfig, logDirSetting, logStdoutSetting, portOrAny, positiveDuration, positiveInt, secretToken, setting } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const BACKENDS = ['supervisor', 'kubernetes', 'docker'] as const;
export const SCALE_OWNERS = ['remediator', 'external'] as const;

export const remediatorConfigShape = {
  ...esConfigShape,
  MLMON_REMEDIATOR_HOST: setting(z.string().default('127.0.0.1'), { description: 'Address the webhooks listen on.', aliases: ['REMEDIATOR_HOST'] }),
  MLMON_REMEDIATOR_PORT: setting(portOrAny.default(8070), { description: 'Port of the webhooks; 0 picks a free one (tests), which is printed.', aliases: ['REMEDIATOR_PORT'] }),
  MLMON_REMEDIATOR_TOKEN: setting(secretToken.optional(), {
    description: 'Bearer token the webhooks require. This or the basic pair must be set: the hooks never run open.',
    secret: true,
    aliases: ['REMEDIATOR_TOKEN'],
  }),
  MLMON_REMEDIATOR_BASIC_USER: setting(z.string().min(1).optional(), {
    description: "Basic credentials, for callers that only do basic auth (a Watcher webhook's `auth.basic`).",
    aliases: ['REMEDIATOR_BASIC_USER'],
  }),
  MLMON_REMEDIATOR_BASIC_PASSWORD: setting(secretToken.optional(), { description: 'Its password.', secret: true, aliases: ['REMEDIATOR_BASIC_PASSWORD'] }),
  MLMON_REMEDIATOR_TLS_CERT: setting(z.string().min(1).optional(), {
    description: 'PEM certificate: with MLMON_REMEDIATOR_TLS_KEY the webhooks are served over HTTPS, so a token or password never crosses the network in clear.',
    aliases: ['REMEDIATOR_TLS_CERT'],
  }),
  MLMON_REMEDIATOR_TLS_KEY: setting(z.string().min(1).optional(), { description: 'Its PEM private key.', aliases: ['REMEDIATOR_TLS_KEY'] }),
  MLMON_REMEDIATOR_DRY_RUN: setting(booleanFlag.default(false), { description: 'Decide and record everything, change nothing: run like this first.', aliases: ['REMEDIATOR_DRY_RUN'] }),
  MLMON_REMEDIATOR_STATE_FILE: setting(z.string().default(path.join(REPO_ROOT, 'run/remediator/state.json')), {
    description: 'Seen execution ids and recent actions, so a restart keeps idempotency, cooldowns and limits.',
    aliases: ['REMEDIATOR_STATE_FILE'],
    shownDefault: '<repo>/run/remediator/state.json',
  }),
  MLMON_LOG_DIR: logDirSetting('the remediator writes its audit events (`mlmon.remediation`)'),
  MLMON_LOG_STDOUT: logStdoutSetting(['REMEDIATOR_LOG_STDOUT']),
  MLMON_REMEDIATOR_COOLDOWN: setting(duration.prefault('2m'), {
    description: 'No second action of one kind on one target within this long.',
    aliases: [{ name: 'REMEDIATOR_COOLDOWN_S', unit: 's' }],
  }),
  MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR: setting(positiveInt.default(6), {
    description: 'At most this many actions (executed or dry-run) in any hour, all kinds together.',
    aliases: ['REMEDIATOR_MAX_ACTIONS_PER_HOUR'],
  }),
  MLMON_REMEDIATOR_FLAP_WINDOW: setting(duration.prefault('5m'), {
    description: 'A scale-in is refused this long after a scale-out, and the other way round.',
    aliases: [{ name: 'REMEDIATOR_FLAP_WINDOW_S', unit: 's' }],
  }),
  MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: setting(duration.refine((n) => n <= 3_600_000, 'must be at most 1h (as HPA allows)').prefault('5m'), {
    description:
      "Scale-in goes only down to the highest replica count recommended by any scale alert within this long (Kubernetes HPA's downscale stabilization window, same default), so no scale-in follows a scale-out within it; scale-out is never delayed.",
  }),
  MLMON_REMEDIATOR_MIN_REPLICAS: setting(positiveInt.default(1), { description: 'Scale-in stops here.', aliases: ['REMEDIATOR_MIN_REPLICAS'] }),
  MLMON_REMEDIATOR_MAX_REPLICAS: setting(positiveInt.default(8), { description: 'Scale-out stops here.', aliases: ['REMEDIATOR_MAX_REPLICAS'] }),
  MLMON_REMEDIATOR_SCALE_STEP: setting(positiveInt.default(1), {
    description: 'Replicas added or removed per scale action, unless the alert asks for a `step`.',
    aliases: ['REMEDIATOR_SCALE_STEP'],
  }),
  MLMON_REMEDIATOR_DEDUP_WINDOW: setting(positiveDuration.prefault('7d'), {
    description: 'How long an execution id is remembered, so a retried webhook is not acted on twice.',
    aliases: [{ name: 'REMEDIATOR_DEDUP_DAYS', unit: 'd' }],
  }),
  MLMON_REMEDIATOR_BACKEND: setting(z.enum(BACKENDS).default('supervisor'), {
    description: 'What scales and restarts replicas: `supervisor` (the local stack), `kubernetes` or `docker` (compose).',
    aliases: ['REMEDIATOR_BACKEND'],
  }),
  MLMON_REMEDIATOR_SCALE_OWNER: setting(z.enum(SCALE_OWNERS).default('remediator'), {
    description: 'Who sets the replica count. `external`: an HPA or another autoscaler does, and scale hooks are refused so the two never fight.',
    aliases: ['REMEDIATOR_SCALE_OWNER'],
  }),
  MLMON_SUPERVISOR_URL: setting(z.url().optional(), { description: "The local supervisor's control API (`mlmon up` passes it).", aliases: ['SUPERVISOR_URL'] }),
  MLMON_SUPERVISOR_TOKEN: setting(z.string().min(1).optional(), { description: 'Its bearer token.', secret: true, aliases: ['SUPERVISOR_TOKEN'] }),
  MLMON_REMEDIATOR_K8S_NAMESPACE: setting(z.string().min(1).default('mlmon'), {
    description: 'Kubernetes: the namespace of the api Deployment whose scale subresource is patched.',
    aliases: ['K8S_NAMESPACE'],
  }),
  MLMON_REMEDIATOR_K8S_DEPLOYMENT: setting(z.string().min(1).default('mlmon-api'), { description: 'Kubernetes: that Deployment.', aliases: ['K8S_DEPLOYMENT'] }),
  KUBECONFIG: setting(z.string().min(1).optional(), {
    description: "Kubernetes: a kubeconfig file; unset: ~/.kube/config, or the pod's service account in a cluster.",
    ownedBy: 'kubectl',
  }),
  DOCKER_HOST: setting(z.string().min(1).optional(), {
    description: 'Docker: the Engine API, e.g. unix:///var/run/docker.sock or tcp://host:2375; unset: the local socket.',
    ownedBy: 'the Docker CLI',
  }),
  COMPOSE_PROJECT_NAME: setting(z.string().min(1).default('mlmon'), { description: 'Docker: the compose project whose api service is scaled.', ownedBy: 'docker compose' }),
  MLMON_REMEDIATOR_COMPOSE_SERVICE: setting(z.string().min(1).default('api'), { description: 'Docker: the compose service to scale.', aliases: ['COMPOSE_SERVICE'] }),
  MLMON_API_URL: setting(z.url().optional(), {
    description: "Where the replicas' model admin API is reached (nginx or one replica: the model state is shared), for rollback and canary actions.",
    aliases: ['MODEL_ADMIN_URL'],
  }),
  MLMON_API_ADMIN_TOKEN: setting(z.string().min(1).optional(), { description: "The replicas' admin token.", secret: true, aliases: ['MODEL_ADMIN_TOKEN'] }),
  MLMON_REMEDIATOR_PROMOTE_WEIGHT: setting(z.coerce.number().gt(0).max(100).default(10), {
    description: "Share of traffic (percent) a shadow promoted by the `promote` action gets as the canary; the canary rules then guard it.",
  }),
  MLMON_RETRAIN_OUTPUT_DIR: setting(z.string().default(path.join(REPO_ROOT, 'run/models')), {
    description: "Retrain: where new versions go (the replicas' MLMON_API_RETRAINED_MODEL_DIR).",
    aliases: ['RETRAIN_OUTPUT_DIR'],
    shownDefault: '<repo>/run/models',
  }),
  MLMON_RETRAIN_WORK_DIR: setting(z.string().default(path.join(REPO_ROOT, 'run/remediator/retrain')), {
    description: "Retrain: the job's working files.",
    aliases: ['RETRAIN_WORK_DIR'],
    shownDefault: '<repo>/run/remediator/retrain',
  }),
  MLMON_RETRAIN_HOLDOUT_FILE: setting(z.string().default(path.join(REPO_ROOT, 'model/artifacts/holdout.json')), {
    description: 'Retrain: the holdout every version is measured on.',
    aliases: ['RETRAIN_HOLDOUT_FILE'],
    shownDefault: '<repo>/model/artifacts/holdout.json',
  }),
  MLMON_RETRAIN_PYTHON: setting(z.string().optional(), {
    description: 'Retrain: the Python that runs model/train.py; unset: model/.venv, created from model/requirements.txt on first use.',
    aliases: ['RETRAIN_PYTHON'],
  }),
  MLMON_RETRAIN_WINDOW: setting(positiveDuration.prefault('24h'), { description: 'Retrain: labeled predictions from this far back are the training rows.', aliases: [{ name: 'RETRAIN_WINDOW_H', unit: 'h' }] }),
  MLMON_RETRAIN_MAX_ROWS: setting(positiveInt.default(20_000), { description: 'Retrain: at most this many rows (the newest).', aliases: ['RETRAIN_MAX_ROWS'] }),
  MLMON_RETRAIN_MIN_ROWS: setting(positiveInt.default(100), { description: 'Retrain: refused with fewer rows than this.', aliases: ['RETRAIN_MIN_ROWS'] }),
  MLMON_RETRAIN_CANARY_WEIGHT: setting(z.coerce.number().gt(0).max(100).default(10), {
    description: 'Retrain: share of traffic (percent) a retrained version gets as a canary.',
    aliases: ['RETRAIN_CANARY_WEIGHT'],
  }),
  MLMON_RETRAIN_TOLERANCE: setting(z.coerce.number().min(0).max(1).default(0), {
    description: "Retrain: a retrained version is registered only if its holdout accuracy is at least the active one's minus this.",
    aliases: ['RETRAIN_TOLERANCE'],
  }),
};

export type RemediatorConfig = z.infer<z.ZodObject<typeof remediatorConfigShape>>;

export function loadRemediatorConfig(env?: Record<string, string | undefined>): RemediatorConfig {
  const config = loadConfig(remediatorConfigShape, env);
  if (!config.MLMON_REMEDIATOR_TOKEN && !(config.MLMON_REMEDIATOR_BASIC_USER && config.MLMON_REMEDIATOR_BASIC_PASSWORD)) {
    throw new ConfigError(
      'MLMON_REMEDIATOR_TOKEN',
      'is required (or MLMON_REMEDIATOR_BASIC_USER and MLMON_REMEDIATOR_BASIC_PASSWORD): the webhooks never run unauthenticated',
    );
  }
  if ((config.MLMON_REMEDIATOR_TLS_CERT === undefined) !== (config.MLMON_REMEDIATOR_TLS_KEY === undefined)) {
    const [set, missing] = config.MLMON_REMEDIATOR_TLS_CERT
      ? ['MLMON_REMEDIATOR_TLS_CERT', 'MLMON_REMEDIATOR_TLS_KEY']
      : ['MLMON_REMEDIATOR_TLS_KEY', 'MLMON_REMEDIATOR_TLS_CERT'];
    throw new ConfigError(missing, `is required when ${set} is set: HTTPS needs both the certificate and its private key`);
  }
  if (config.MLMON_REMEDIATOR_MIN_REPLICAS > config.MLMON_REMEDIATOR_MAX_REPLICAS) {
    throw new ConfigError(
      'MLMON_REMEDIATOR_MIN_REPLICAS',
      `(${config.MLMON_REMEDIATOR_MIN_REPLICAS}) is above MLMON_REMEDIATOR_MAX_REPLICAS (${config.MLMON_REMEDIATOR_MAX_REPLICAS})`,
    );
  }
  return config;
}
