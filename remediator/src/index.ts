import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import { LOG_BASENAMES } from '@mlmon/contract';
import { ConfigError, createEsClient, createEventLog } from '@mlmon/runtime';
import { createApp } from './app.js';
import { DockerScaler, dockerOptions } from './backends/docker.js';
import { KubernetesScaler } from './backends/kubernetes.js';
import type { Scaler } from './backends/scaler.js';
import { SupervisorScaler } from './backends/supervisor.js';
import type { RemediatorConfig } from './config.js';
import { ModelAdmin } from './models.js';
import { Remediator, type RetrainStarter } from './remediator.js';
import { RemediatorState } from './state.js';
import { RetrainJob } from './retrain/job.js';

export { loadRemediatorConfig, remediatorConfigShape, type RemediatorConfig } from './config.js';
export type { Decision } from './remediator.js';
export * from './payload.js';

export interface RunningRemediator {
  url: string;
  remediator: Remediator;
  /** Undefined without the replicas' admin API: a retrained version could not be registered. */
  retrain: RetrainJob | undefined;
  close(): Promise<void>;
}

/** The scaler the configuration names, or none when its connection is not configured (scale hooks then fail, saying what is missing). */
export function scalerFor(config: RemediatorConfig): Scaler | undefined {
  switch (config.MLMON_REMEDIATOR_BACKEND) {
    case 'supervisor':
      return config.MLMON_SUPERVISOR_URL && config.MLMON_SUPERVISOR_TOKEN ? new SupervisorScaler(config.MLMON_SUPERVISOR_URL, config.MLMON_SUPERVISOR_TOKEN) : undefined;
    case 'kubernetes':
      return new KubernetesScaler(config.MLMON_REMEDIATOR_K8S_NAMESPACE, config.MLMON_REMEDIATOR_K8S_DEPLOYMENT, config.KUBECONFIG);
    case 'docker':
      return new DockerScaler(config.COMPOSE_PROJECT_NAME, config.MLMON_REMEDIATOR_COMPOSE_SERVICE, dockerOptions(config.DOCKER_HOST));
  }
}

/** The certificate and key to serve HTTPS with, read and checked before anything listens; undefined: plain HTTP. */
export function tlsOptions(config: RemediatorConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.MLMON_REMEDIATOR_TLS_CERT || !config.MLMON_REMEDIATOR_TLS_KEY) return undefined;
  const read = (variable: 'MLMON_REMEDIATOR_TLS_CERT' | 'MLMON_REMEDIATOR_TLS_KEY') => {
    try {
      return readFileSync(config[variable]!);
    } catch (err) {
      throw new ConfigError(variable, `cannot be read: ${(err as Error).message}`);
    }
  };
  const pair = { cert: read('MLMON_REMEDIATOR_TLS_CERT'), key: read('MLMON_REMEDIATOR_TLS_KEY') };
  try {
    // Not PEM, or a key that does not belong to the certificate: say so at start, not at the first handshake.
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError('MLMON_REMEDIATOR_TLS_CERT', `and MLMON_REMEDIATOR_TLS_KEY are not a usable certificate and key: ${(err as Error).message}`);
  }
  return pair;
}

/** Starts the webhook server; `main.ts` runs it as a process, tests call it in-process. */
export async function startRemediator(config: RemediatorConfig, overrides: { scaler?: Scaler; retrain?: RetrainStarter } = {}): Promise<RunningRemediator> {
  const tls = tlsOptions(config);
  const log = createEventLog({
    service: 'mlmon-remediator',
    node: 'remediator',
    dir: config.MLMON_LOG_DIR,
    basename: LOG_BASENAMES.remediator,
    maxBytes: 10 * 1024 * 1024,
    maxFiles: 3,
    stdout: config.MLMON_LOG_STDOUT,
  });
  const state = RemediatorState.load(config.MLMON_REMEDIATOR_STATE_FILE, {
    executions: config.MLMON_REMEDIATOR_DEDUP_WINDOW,
    acted: Math.max(config.MLMON_REMEDIATOR_COOLDOWN, config.MLMON_REMEDIATOR_FLAP_WINDOW, config.MLMON_REMEDIATOR_SCALE_IN_STABILIZATION),
  });
  const models = config.MLMON_API_URL && config.MLMON_API_ADMIN_TOKEN ? new ModelAdmin(config.MLMON_API_URL, config.MLMON_API_ADMIN_TOKEN) : undefined;
  const client = createEsClient(config, { name: 'mlmon-remediator' });
  const retrain = models ? new RetrainJob({ config, client, models, log }) : undefined;
  const remediator = new Remediator({
    config,
    state,
    log,
    scaler: overrides.scaler ?? scalerFor(config),
    models,
    retrain: overrides.retrain ?? retrain,
  });
  const app = createApp({ config, remediator, log });
  const server = await new Promise<ServerType>((resolve) => {
    const listen = { fetch: app.fetch, port: config.MLMON_REMEDIATOR_PORT, hostname: config.MLMON_REMEDIATOR_HOST };
    const s = serve(tls ? { ...listen, createServer: createHttpsServer, serverOptions: tls } : listen, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.MLMON_REMEDIATOR_HOST}:${port}`;
  await log.write('mlmon.app', 'info', `remediator listening on ${url}${config.MLMON_REMEDIATOR_DRY_RUN ? ' (dry run: nothing is changed)' : ''}, backend ${config.MLMON_REMEDIATOR_BACKEND}`, {});
  return {
    url,
    remediator,
    retrain,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A retrain under way finishes and reports before the log closes.
      await retrain?.last;
      await client.close();
      await log.close();
    },
  };
}
export { trainingPython } from './retrain/python.js';
