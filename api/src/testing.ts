import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * For tests and benchmarks of other packages: a real replica process and the
 * held-out rows it is exercised with.
 */

export { loadOodScorer } from './models/ood.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MODEL_ARTIFACTS_DIR = path.join(REPO_ROOT, 'model', 'artifacts');
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface HoldoutRow {
  features: Record<string, number>;
  label: string;
  expected: Record<string, { label: string; probabilities: number[] }>;
}
export const holdout = JSON.parse(readFileSync(path.join(MODEL_ARTIFACTS_DIR, 'holdout.json'), 'utf8')) as {
  feature_names: string[];
  class_labels: string[];
  positive_label: string;
  rows: HoldoutRow[];
};

export const tempDir = (name: string) => mkdtempSync(path.join(os.tmpdir(), `mlmon-${name}-`));

export interface ReplicaProcess {
  url: string;
  child: ChildProcess;
  logDir: string;
  exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr: () => string;
}

/**
 * A real replica process, started the way production starts it (`node api/dist/main.js`), on a free port.
 * `nodeArgs` go before the entry point (bench/api.ts profiles with `--cpu-prof`).
 */
export async function startReplicaProcess(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<ReplicaProcess> {
  const logDir = env.MLMON_LOG_DIR ?? tempDir('replica-logs');
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/main.js' : './main.js', import.meta.url))], {
    cwd: REPO_ROOT,
    env: { ...process.env, MLMON_API_PORT: '0', MLMON_LOG_DIR: logDir, MLMON_API_RESOURCE_INTERVAL: '1h', MLMON_API_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`replica exited with ${code} before listening:\n${stderr}`)));
    setTimeout(() => reject(new Error(`replica not listening after 30s:\n${stderr}`)), 30_000).unref();
  });
  return { url, child, logDir, exited, stderr: () => stderr };
}
