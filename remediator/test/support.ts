import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOG_BASENAMES, logFile, parseEcsLine, type EventOf, type MlmonEvent } from '@mlmon/contract';
import { loadRemediatorConfig, startRemediator, type Decision, type RunningRemediator } from '../src/index.js';
import type { Scaler } from '../src/backends/scaler.js';

export const TOKEN = 'remediator-test-token-0123456789';
export const tempDir = (name: string) => mkdtempSync(path.join(os.tmpdir(), `mlmon-${name}-`));

/** A remediator in this process, on a free port, with a log directory and state file of its own. */
export async function remediatorFor(env: Record<string, string>, overrides: { scaler?: Scaler } = {}): Promise<RunningRemediator & { logDir: string; stateFile: string }> {
  const dir = env.MLMON_LOG_DIR ?? tempDir('remediator');
  const stateFile = env.MLMON_REMEDIATOR_STATE_FILE ?? path.join(dir, 'state.json');
  const config = loadRemediatorConfig({ MLMON_REMEDIATOR_PORT: '0', MLMON_REMEDIATOR_TOKEN: TOKEN, MLMON_LOG_DIR: dir, MLMON_REMEDIATOR_STATE_FILE: stateFile, ...env });
  return { ...(await startRemediator(config, overrides)), logDir: dir, stateFile };
}

let executions = 0;
/** An alert as the rule runner sends it; each call is a new execution unless one is given. */
export function alert(extra: Record<string, unknown> = {}): Record<string, unknown> {
  executions += 1;
  return { watch_id: 'test-rule', execution_id: `exec-${process.pid}-${Date.now()}-${executions}`, severity: 'critical', value: 0.9, threshold: 0.5, ...extra };
}

export async function hook(url: string, name: string, body: unknown, auth: string | null = `Bearer ${TOKEN}`): Promise<{ status: number; body: Decision & { error?: { code: string; field?: string } } }> {
  const res = await fetch(`${url}/v1/hooks/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Decision & { error?: { code: string; field?: string } } };
}

export function events<D extends MlmonEvent['event']['dataset']>(logDir: string, dataset: D): Array<EventOf<D>> {
  const file = logFile(logDir, LOG_BASENAMES.remediator);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseEcsLine(l))
    .filter((e): e is EventOf<D> => e.event.dataset === dataset);
}
