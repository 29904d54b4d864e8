import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { LOG_BASENAMES } from '@mlmon/contract';
import { apiConfigShape } from '@mlmon/api/config';
import { createEventLog, esUrl, loadConfig, loadEsConfig, requireCredentials, startResourceSampler } from '@mlmon/runtime';
import { stackConfigShape } from '../config.js';
import { Stack, UnknownProcessError } from './stack.js';
import { writeStackFile } from './stack-file.js';
import type { RunPaths } from './paths.js';

export interface SuperviseOptions {
  paths: RunPaths;
  replicas: number;
  maxReplicas: number;
  port: number;
  statusPort: number;
  controlPort: number;
  firstReplicaPort: number;
  remediatorPort: number;
  alertmanagerPort: number;
}

/**
 * The supervisor process `mlmon up` leaves running: it owns every process of
 * the stack, restarts the ones that die, and answers a small control API on
 * loopback (status, scale, shutdown) that the CLI and the remediator use.
 */
export async function supervise(o: SuperviseOptions): Promise<void> {
  const env = loadConfig(stackConfigShape);
  const adminToken = env.MLMON_API_ADMIN_TOKEN ?? randomBytes(24).toString('hex');
  const log = createEventLog({ service: 'mlmon-supervisor', node: 'local', dir: o.paths.logs, basename: LOG_BASENAMES.supervisor, maxBytes: 10 * 1024 * 1024, maxFiles: 3 });
  const stack = new Stack({
    paths: o.paths,
    replicas: o.replicas,
    maxReplicas: o.maxReplicas,
    remediatorMaxReplicas: env.MLMON_REMEDIATOR_MAX_REPLICAS,
    listenPort: o.port,
    statusPort: o.statusPort,
    firstReplicaPort: o.firstReplicaPort,
    remediatorPort: o.remediatorPort,
    alertmanagerPort: o.alertmanagerPort,
    controlUrl: `http://127.0.0.1:${o.controlPort}`,
    adminToken,
    remediatorToken: env.MLMON_REMEDIATOR_TOKEN,
    // The replicas' own limit, so nginx refuses exactly what they would.
    bodyLimitBytes: loadConfig({ MLMON_API_BODY_LIMIT_BYTES: apiConfigShape.MLMON_API_BODY_LIMIT_BYTES }).MLMON_API_BODY_LIMIT_BYTES,
    log,
    onReplicaSetChange: () => void sampler.sampleNow().catch(() => {}),
  });
  // The supervisor's own resource line carries the replicas it keeps running, at the replicas' sampling
  // interval and at once on every scale: rules read it to tell a replica removed on purpose from a missing one.
  const sampler = startResourceSampler({
    log,
    intervalMs: loadConfig({ MLMON_API_RESOURCE_INTERVAL: apiConfigShape.MLMON_API_RESOURCE_INTERVAL }).MLMON_API_RESOURCE_INTERVAL,
    extra: () => {
      const desired = stack.replicaNames();
      return { replicas: { desired, count: desired.length } };
    },
    message: (r) => `supervisor: ${r.replicas?.count ?? 0} replicas running (${r.replicas?.desired.join(', ') ?? ''})`,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      await stack.stop();
      sampler.stop();
      await log.close();
      rmSync(o.paths.stackFile, { force: true });
      process.exit(0);
    })());
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());

  await stack.start();
  await sampler.sampleNow();

  const control = new Hono()
    .use(
      requireCredentials({
        token: adminToken,
        realm: 'mlmon-supervisor',
        message: 'bearer token required',
        onRefused: (c, message) => void log.write('mlmon.app', 'warn', `rejected ${c.req.method} ${c.req.path}: ${message}`, { error: { code: 'unauthorized', message } }),
      }),
    )
    .get('/status', (c) => c.json({ processes: stack.processes() }))
    .put('/replicas', async (c) => {
      const { count } = (await c.req.json().catch(() => ({}))) as { count?: unknown };
      try {
        return c.json({ processes: await stack.scaleTo(Number(count)) });
      } catch (err) {
        return c.json({ error: { code: 'scale_failed', message: (err as Error).message } }, 400);
      }
    })
    .post('/replicas/:name/restart', async (c) => {
      try {
        return c.json({ process: await stack.restartReplica(c.req.param('name')) });
      } catch (err) {
        if (err instanceof UnknownProcessError) return c.json({ error: { code: 'unknown_replica', message: err.message } }, 404);
        return c.json({ error: { code: 'restart_failed', message: (err as Error).message } }, 500);
      }
    })
    .post('/shutdown', (c) => {
      setImmediate(() => void shutdown());
      return c.json({ stopping: true }, 202);
    });
  serve({ fetch: control.fetch, port: o.controlPort, hostname: '127.0.0.1' });

  await writeStackFile(o.paths, {
    supervisorPid: process.pid,
    controlUrl: `http://127.0.0.1:${o.controlPort}`,
    remediatorUrl: `http://127.0.0.1:${o.remediatorPort}`,
    url: `http://127.0.0.1:${o.port}`,
    nginxStatusUrl: `http://127.0.0.1:${o.statusPort}/nginx_status`,
    esUrl: esUrl(loadEsConfig()),
    adminToken,
    logDir: o.paths.logs,
    startedAt: new Date().toISOString(),
  });
  console.log(`supervisor ready: control API on 127.0.0.1:${o.controlPort}, stack file ${o.paths.stackFile}`);
}
