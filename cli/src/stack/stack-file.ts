import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@mlmon/runtime';
import type { RunPaths } from './paths.js';

/** What a running stack publishes for the CLI, the simulator and the remediator. Holds the admin token: mode 0600. */
export interface StackFile {
  supervisorPid: number;
  controlUrl: string;
  /** The remediator's webhooks (bearer: adminToken unless MLMON_REMEDIATOR_TOKEN was set). */
  remediatorUrl: string;
  url: string;
  nginxStatusUrl: string;
  esUrl: string;
  adminToken: string;
  logDir: string;
  startedAt: string;
}

export function writeStackFile(paths: RunPaths, s: StackFile): Promise<void> {
  return writeFileAtomic(paths.stackFile, JSON.stringify(s, null, 2), { mode: 0o600 });
}

export function readStackFile(paths: RunPaths): StackFile | undefined {
  if (!existsSync(paths.stackFile)) return undefined;
  return JSON.parse(readFileSync(paths.stackFile, 'utf8')) as StackFile;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running stack, or undefined when none runs (a stack file left by a crash does not count). */
export function runningStack(paths: RunPaths): StackFile | undefined {
  const s = readStackFile(paths);
  return s && isAlive(s.supervisorPid) ? s : undefined;
}
