import path from 'node:path';
import { createEsClient, createEventLog, esUrl } from '@mlmon/runtime';
import { LOG_BASENAMES, LOG_EXTENSION, setupTemplates } from '@mlmon/contract';
import { loadShipperConfig } from './config.js';
import { Shipper, type OperationalLog } from './shipper.js';
import { startStatus } from './status.js';

/** A bad variable or checkpoint file stops the shipper at once with one plain line, not a stack trace. */
function startupFailed(err: unknown): never {
  console.error(`log-shipper: ${(err as Error).message}`);
  process.exit(1);
}

const config = (() => {
  try {
    return loadShipperConfig();
  } catch (err) {
    return startupFailed(err);
  }
})();
const prefix = config.MLMON_INDEX_PREFIX;
const log = createEventLog({
  service: 'mlmon-log-shipper',
  node: config.MLMON_SHIPPER_NODE,
  dir: config.MLMON_LOG_DIR,
  basename: LOG_BASENAMES.shipper,
  maxBytes: 10 * 1024 * 1024,
  maxFiles: 3,
  stdout: config.MLMON_LOG_STDOUT,
});
const say: OperationalLog = (level, message) => {
  void log.write('mlmon.app', level, message, {});
  (level === 'warn' ? console.error : console.log)(`log-shipper: ${message}`);
};

const client = createEsClient(config, { name: 'mlmon-log-shipper' });
// Its own status lines are shipped like everything else, whatever the patterns say.
const globs = [...config.MLMON_SHIPPER_GLOBS, path.join(path.resolve(config.MLMON_LOG_DIR), `${LOG_BASENAMES.shipper}*${LOG_EXTENSION}`)];
const shipper = await Shipper.start({
  settings: { ...config, MLMON_SHIPPER_GLOBS: globs },
  client,
  log: say,
  ...(config.MLMON_SHIPPER_SETUP_TEMPLATES ? { prepare: () => setupTemplates(client, { prefix }) } : {}),
}).catch(startupFailed);
const status = startStatus({ log, intervalMs: config.MLMON_SHIPPER_STATUS_INTERVAL, stats: () => shipper.stats(), client });
say('info', `shipping ${globs.join(', ')} to ${esUrl(config)} as ${prefix}-* (state in ${path.resolve(config.MLMON_SHIPPER_STATE_DIR)})`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('info', `${signal}: stopping; waiting up to ${config.MLMON_SHIPPER_SHUTDOWN_TIMEOUT} ms for Elasticsearch to acknowledge what was read`);
  const complete = await shipper.stop(config.MLMON_SHIPPER_SHUTDOWN_TIMEOUT);
  // A last status line with the final counters, in the file for the next start to ship.
  await status.sampleNow();
  status.stop();
  say(
    complete ? 'info' : 'warn',
    complete
      ? 'stopped: everything read is indexed and checkpointed'
      : 'stopped before Elasticsearch acknowledged everything read; the rest is read again at the next start',
  );
  await log.close();
  await client.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
