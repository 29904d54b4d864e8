import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_LOG_DIR, logGlob } from '@mlmon/contract';
import { booleanFlag, esConfigShape, loadConfig } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const positiveInt = z.coerce.number().int().positive();

/** Wildcards are allowed in the file name only: a fixed set of directories keeps every rescan one readdir each. */
const globList = z
  .string()
  .transform((v) => v.split(',').map((g) => g.trim()).filter((g) => g !== ''))
  .refine((globs) => globs.length > 0, 'must name at least one file pattern')
  .refine((globs) => globs.every((g) => !/[*?[]/.test(path.dirname(g))), 'wildcards are allowed in the file name only, not in directories')
  .transform((globs) => globs.map((g) => path.resolve(g)));

export const shipperConfigShape = {
  ...esConfigShape,
  /** Comma-separated file patterns to tail, e.g. `run/logs/*.ndjson,/var/log/nginx/mlmon-*.ndjson`. */
  SHIPPER_GLOBS: globList.prefault(logGlob(DEFAULT_LOG_DIR)),
  /** Checkpoints and the dead-letter file. */
  SHIPPER_STATE_DIR: z.string().default(path.join(REPO_ROOT, 'run/shipper')),
  /** The shipper's own ECS log (status and operational lines); always shipped too. */
  SHIPPER_LOG_DIR: z.string().default(DEFAULT_LOG_DIR),
  SHIPPER_LOG_STDOUT: booleanFlag.default(false),
  /** `service.node.name` of the shipper's own lines. */
  SHIPPER_NODE: z.string().min(1).default(os.hostname()),
  /** A bulk request is sent once this many bytes are batched... */
  SHIPPER_FLUSH_BYTES: positiveInt.default(2 * 1024 * 1024),
  /** ...or once its oldest line waited this long. */
  SHIPPER_FLUSH_INTERVAL_MS: positiveInt.default(250),
  /** Bulk requests in flight at once; reading pauses when all are busy and the next batch is full. */
  SHIPPER_CONCURRENCY: positiveInt.default(2),
  /** How often files are checked for new lines when there was nothing to read. */
  SHIPPER_POLL_INTERVAL_MS: positiveInt.default(200),
  /** How often the patterns are listed again to find new and rotated files. */
  SHIPPER_SCAN_INTERVAL_MS: positiveInt.default(1000),
  SHIPPER_CHECKPOINT_INTERVAL_MS: positiveInt.default(1000),
  /** Longest wait between retries while Elasticsearch refuses or is unreachable. */
  SHIPPER_BACKOFF_MAX_MS: positiveInt.default(5000),
  /** On SIGTERM, how long to wait for Elasticsearch to acknowledge what was read before exiting anyway. */
  SHIPPER_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  /** Install or update the index templates before the first bulk request, so no line lands in an unmapped index. */
  SHIPPER_SETUP_TEMPLATES: booleanFlag.default(true),
  STATUS_INTERVAL_S: z.coerce.number().positive().default(10),
};

export type ShipperConfig = z.infer<z.ZodObject<typeof shipperConfigShape>>;

export function loadShipperConfig(env?: Record<string, string | undefined>): ShipperConfig {
  return loadConfig(shipperConfigShape, env);
}
