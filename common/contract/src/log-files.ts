import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The hand-off between the services that write ECS lines and the shipper that
 * indexes them: one directory of NDJSON files. Producers, the shipper and the
 * CLI that wires them together all take names from here.
 */

/** The variable every producer reads its log directory from. */
export const LOG_DIR_VAR = 'LOG_DIR';

/** `run/logs` in the checkout, the same from src/ and dist/. */
export const DEFAULT_LOG_DIR = fileURLToPath(new URL('../../../run/logs', import.meta.url));

export const LOG_EXTENSION = '.ndjson';

/** Basenames of the files each producer writes: `<basename>.ndjson`. */
export const LOG_BASENAMES = {
  replica: (replicaId: string) => `api-${replicaId}`,
  shipper: 'log-shipper',
  supervisor: 'supervisor',
  remediator: 'remediator',
  nginxAccess: 'nginx-access',
  analyzer: 'analyzer',
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
