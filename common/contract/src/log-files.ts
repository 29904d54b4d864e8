import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The hand-off between the services that write ECS lines and the shipper that
 * indexes them: one directory of NDJSON files. Producers, the shipper and the
 * CLI that wires them together all take names from here.
 */

/** `run/` in the checkout, the same from src/ and dist/: where the local stack keeps its state. */
export const DEFAULT_RUN_DIR = fileURLToPath(new URL('../../../run', import.meta.url));

/** The log directory of a run directory, so the CLI's moved run folder (MLMON_RUN_DIR) and the default agree. */
export function runLogDir(runDir: string): string {
  return path.join(runDir, 'logs');
}

export const DEFAULT_LOG_DIR = runLogDir(DEFAULT_RUN_DIR);

export const LOG_EXTENSION = '.ndjson';

/** Basenames of the files each producer writes: `<basename>.ndjson`. */
export const LOG_BASENAMES = {
  replica: (replicaId: string) => `api-${replicaId}`,
  shipper: 'log-shipper',
  supervisor: 'supervisor',
  remediator: 'remediator',
  nginxAccess: 'nginx-access',
  analyzer: 'analyzer',
  ruleRunner: 'rule-runner',
} as const;

export function logFile(dir: string, basename: string): string {
  return path.join(dir, `${basename}${LOG_EXTENSION}`);
}

/** Rotation keeps the current file's name; older ones become `<basename>.1.ndjson`, `.2`, … */
export function rotatedLogFile(file: string, n: number): string {
  return file.endsWith(LOG_EXTENSION) ? `${file.slice(0, -LOG_EXTENSION.length)}.${n}${LOG_EXTENSION}` : `${file}.${n}`;
}

/** What the shipper tails in a log directory: every producer's current and rotated files. */
export function logGlob(dir: string): string {
  return path.join(dir, `*${LOG_EXTENSION}`);
}
