import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LOG_DIR, logGlob } from '@mlmon/contract';
import { booleanFlag, commaList, esConfigShape, loadConfig, logDirSetting, logStdoutSetting, positiveDuration, positiveInt, setting } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Wildcards are allowed in the file name only: a fixed set of directories keeps every rescan one readdir each. */
const globList = commaList
  .refine((globs) => globs.length > 0, 'must name at least one file pattern')
  .refine((globs) => globs.every((g) => !/[*?[]/.test(path.dirname(g))), 'wildcards are allowed in the file name only, not in directories')
  .transform((globs) => globs.map((g) => path.resolve(g)));

export const shipperConfigShape = {
  ...esConfigShape,
  MLMON_SHIPPER_GLOBS: setting(globList.prefault(logGlob(DEFAULT_LOG_DIR)), {
    description: 'Comma-separated file patterns to tail, e.g. `run/logs/*.ndjson,/var/log/nginx/mlmon-*.ndjson`; wildcards in the file name only.',
    aliases: ['SHIPPER_GLOBS'],
    shownDefault: '<repo>/run/logs/*.ndjson',
  }),
  MLMON_SHIPPER_STATE_DIR: setting(z.string().default(path.join(REPO_ROOT, 'run/shipper')), {
    description: 'Checkpoints and the dead-letter file.',
    aliases: ['SHIPPER_STATE_DIR'],
    shownDefault: '<repo>/run/shipper',
  }),
  MLMON_LOG_DIR: logDirSetting('the shipper writes its own status and operational lines, which it always ships too', ['SHIPPER_LOG_DIR']),
  MLMON_LOG_STDOUT: logStdoutSetting(['SHIPPER_LOG_STDOUT']),
  MLMON_SHIPPER_NODE: setting(z.string().min(1).default(os.hostname()), { description: '`service.node.name` of the shipper\'s own lines.', aliases: ['SHIPPER_NODE'], shownDefault: 'the host name' }),
  MLMON_SHIPPER_FLUSH_BYTES: setting(positiveInt.default(2 * 1024 * 1024), { description: 'A bulk request is sent once this many bytes are batched...', aliases: ['SHIPPER_FLUSH_BYTES'] }),
  MLMON_SHIPPER_FLUSH_INTERVAL: setting(positiveDuration.prefault('250ms'), {
    description: '...or once its oldest line waited this long.',
    aliases: [{ name: 'SHIPPER_FLUSH_INTERVAL_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_CONCURRENCY: setting(positiveInt.default(2), {
    description: 'Bulk requests in flight at once; reading pauses when all are busy and the next batch is full.',
    aliases: ['SHIPPER_CONCURRENCY'],
  }),
  MLMON_SHIPPER_POLL_INTERVAL: setting(positiveDuration.prefault('200ms'), {
    description: 'How often files are checked for new lines when there was nothing to read.',
    aliases: [{ name: 'SHIPPER_POLL_INTERVAL_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_SCAN_INTERVAL: setting(positiveDuration.prefault('1s'), {
    description: 'How often the patterns are listed again to find new and rotated files.',
    aliases: [{ name: 'SHIPPER_SCAN_INTERVAL_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_CHECKPOINT_INTERVAL: setting(positiveDuration.prefault('1s'), {
    description: 'How often acknowledged offsets are written to the checkpoint file.',
    aliases: [{ name: 'SHIPPER_CHECKPOINT_INTERVAL_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_BACKOFF_MAX: setting(positiveDuration.prefault('5s'), {
    description: 'Longest wait between retries while Elasticsearch refuses or is unreachable.',
    aliases: [{ name: 'SHIPPER_BACKOFF_MAX_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_SHUTDOWN_TIMEOUT: setting(positiveDuration.prefault('10s'), {
    description: 'On SIGTERM, how long to wait for Elasticsearch to acknowledge what was read before exiting anyway.',
    aliases: [{ name: 'SHIPPER_SHUTDOWN_TIMEOUT_MS', unit: 'ms' }],
  }),
  MLMON_SHIPPER_SETUP_TEMPLATES: setting(booleanFlag.default(true), {
    description: 'Install or update the index templates before the first bulk request, so no line lands in an unmapped index (off where the setup job installs them and the shipper\'s role may not).',
    aliases: ['SHIPPER_SETUP_TEMPLATES'],
  }),
  MLMON_SHIPPER_STATUS_INTERVAL: setting(positiveDuration.prefault('10s'), {
    description: 'How often the shipper writes its status line (counters, lag).',
    aliases: [{ name: 'STATUS_INTERVAL_S', unit: 's' }],
  }),
};

export type ShipperConfig = z.infer<z.ZodObject<typeof shipperConfigShape>>;

export function loadShipperConfig(env?: Record<string, string | undefined>): ShipperConfig {
  return loadConfig(shipperConfigShape, env);
}
