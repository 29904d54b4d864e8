import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { loadApiConfig } from './config';
import { createReplica } from './replica';

const config = loadApiConfig();
const replica = await createReplica(config);
const { log, registry, state } = replica;

const server = serve({ fetch: replica.app.fetch, port: config.PORT, hostname: config.HOST }, (info: AddressInfo) => {
  log.write('mlmon.app', 'info', `replica ${config.REPLICA_ID} listening on ${info.address}:${info.port}, serving ${registry.modelName} ${registry.serving().active}`, {});
  console.log(`mlmon api ${config.REPLICA_ID} listening on http://${info.address}:${info.port}`);
});
// Longer than nginx's upstream keepalive_timeout, so nginx, not the replica, closes idle connections
// and never sends a request down a socket the replica is closing.
if ('keepAliveTimeout' in server) server.keepAliveTimeout = 65_000;

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  state.draining = true;
  log.write('mlmon.app', 'info', `${signal}: draining ${state.inFlight} in-flight requests`, {});
  const force = setTimeout(() => {
    if ('closeAllConnections' in server) server.closeAllConnections();
  }, config.SHUTDOWN_TIMEOUT_MS);
  force.unref();
  // close() stops accepting, lets in-flight requests finish and closes idle keep-alive sockets.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  log.write('mlmon.app', 'info', `replica ${config.REPLICA_ID} stopped`, {});
  await replica.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
