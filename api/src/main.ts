import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createHttpTerminator } from 'http-terminator';
import { loadApiConfig } from './config.js';
import { createReplica } from './replica.js';

const config = loadApiConfig();
const replica = await createReplica(config);
const { log, registry, state } = replica;

const server = serve({ fetch: replica.app.fetch, port: config.MLMON_API_PORT, hostname: config.MLMON_API_HOST }, (info: AddressInfo) => {
  void log.write('mlmon.app', 'info', `replica ${config.MLMON_API_REPLICA_ID} listening on ${info.address}:${info.port}, serving ${registry.modelName} ${registry.serving().active}`, {});
  console.log(`mlmon api ${config.MLMON_API_REPLICA_ID} listening on http://${info.address}:${info.port}`);
});
// Longer than nginx's upstream keepalive_timeout, so nginx, not the replica, closes idle connections
// and never sends a request down a socket the replica is closing.
if ('keepAliveTimeout' in server) server.keepAliveTimeout = 65_000;
// Created now, not at shutdown: it can only close the keep-alive sockets it saw being opened.
// server.close() alone closes the sockets idle at that instant; one that goes idle a moment
// later stays open for keepAliveTimeout, and shutdown waits on it.
const terminator = createHttpTerminator({ server: server as Server, gracefulTerminationTimeout: config.MLMON_API_SHUTDOWN_TIMEOUT });

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  state.draining = true;
  void log.write('mlmon.app', 'info', `${signal}: draining ${state.inFlight} in-flight requests`, {});
  // Stops accepting, closes idle sockets at once and each busy one right after its answer.
  await terminator.terminate();
  void log.write('mlmon.app', 'info', `replica ${config.MLMON_API_REPLICA_ID} stopped`, {});
  await replica.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
