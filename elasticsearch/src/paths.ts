import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadConfig } from '@mlmon/runtime';
import { launcherConfigShape } from './config.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the downloaded zip is kept: git-ignored, inside the checkout. */
export const DOWNLOAD_DIR = path.join(REPO_ROOT, '.cache', 'elasticsearch');

export const isRoot = process.getuid?.() === 0;

/**
 * Where the distribution is unpacked and instances keep config, data and logs.
 * Elasticsearch refuses to run as root, so as root it runs as a system user,
 * and that user must be able to reach these files: a checkout under /root or in
 * a `mktemp -d` folder (mode 700) is not reachable, so as root we use the
 * conventional service location instead of loosening the checkout's permissions.
 */
export const RUNTIME_DIR =
  loadConfig({ MLMON_ES_HOME: launcherConfigShape.MLMON_ES_HOME }).MLMON_ES_HOME ?? (isRoot ? '/var/lib/mlmon/elasticsearch' : DOWNLOAD_DIR);
