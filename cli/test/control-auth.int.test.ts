import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_BASENAMES, logFile, parseEcsLine, type AppEvent } from '@mlmon/contract';
import { testCluster } from '@mlmon/elasticsearch/testing';
import type { ProcessInfo } from '../src/stack/managed.js';
import { runPaths } from '../src/stack/paths.js';
import { isAlive, readStackFile, runningStack, type StackFile } from '../src/stack/stack-file.js';
import { mlmon, upOnFreePorts } from './mlmon-process.js';

/**
 * The supervisor's control API on a real stack started by `mlmon up` (the
 * API lives inside the supervisor, which only answers once its stack runs):
 * the bearer check stands in front of every route, GET /status included.
 */
const cluster = testCluster();
const paths = runPaths(path.join(mkdtempSync(path.join(os.tmpdir(), 'mlmon-control-')), 'run'));
const env = { ...process.env, MLMON_RUN_DIR: paths.runDir, MLMON_ES_URL: cluster.url, MLMON_INDEX_PREFIX: cluster.prefix, MLMON_REMEDIATOR_DRY_RUN: 'true' };
let stack: StackFile;

beforeAll(async () => {
  await upOnFreePorts({ replicas: 1, maxReplicas: 2 }, env);
  stack = readStackFile(paths)!;
}, 120_000);

afterAll(async () => {
  if (runningStack(paths)) await mlmon(['down'], env);
  await cluster.cleanup();
}, 60_000);

const call = (method: string, route: string, authorization?: string, body?: unknown) =>
  fetch(`${stack.controlUrl}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const ROUTES: Array<[method: string, route: string, body?: unknown]> = [
  ['GET', '/status'],
  ['PUT', '/replicas', { count: 2 }],
  ['POST', '/replicas/replica-1/restart'],
  ['POST', '/shutdown'],
];

/** What the refused requests would have changed: the replicas, their restarts, the supervisor itself. */
async function state() {
  const res = await call('GET', '/status', `Bearer ${stack.adminToken}`);
  expect(res.status).toBe(200);
  const { processes } = (await res.json()) as { processes: ProcessInfo[] };
  return { replicas: processes.filter((p) => p.name.startsWith('replica-')).map((p) => [p.name, p.restarts]), supervisor: isAlive(stack.supervisorPid) };
}

/** The supervisor's log lines for refusals of `route`: one per refused call. */
function refusalsLogged(method: string, route: string): number {
  const file = logFile(paths.logs, LOG_BASENAMES.supervisor);
  if (!existsSync(file)) return 0;
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map(parseEcsLine);
  return lines.filter((e): e is AppEvent => e.event.dataset === 'mlmon.app').filter((e) => e.error?.code === 'unauthorized' && e.message === `rejected ${method} ${route}: bearer token required`).length;
}

describe("the supervisor's control API (real stack)", () => {
  it.each(ROUTES)('%s %s answers 401 and does nothing without the token, with a wrong one, or with the token in another scheme', async (method, route, body) => {
    const wrong = {
      none: undefined,
      'bearer with no token': 'Bearer ',
      'another token': `Bearer ${'0'.repeat(stack.adminToken.length)}`,
      'the token and more': `Bearer ${stack.adminToken}0`,
      'a prefix of the token': `Bearer ${stack.adminToken.slice(0, -1)}`,
      'basic, not bearer': `Basic ${Buffer.from(`admin:${stack.adminToken}`).toString('base64')}`,
    };
    const logged = refusalsLogged(method, route);
    for (const [why, authorization] of Object.entries(wrong)) {
      const res = await call(method, route, authorization, body);
      expect(res.status, why).toBe(401);
      expect(res.headers.get('www-authenticate'), why).toBe('Bearer realm="mlmon-supervisor"');
      expect(await res.json(), why).toEqual({ error: { code: 'unauthorized', message: 'bearer token required' } });
    }
    expect(refusalsLogged(method, route) - logged).toBe(Object.keys(wrong).length);
    // The right token is let in (so the 401s above were the token check), and nothing was scaled, restarted or stopped.
    expect(await state()).toEqual({ replicas: [['replica-1', 0]], supervisor: true });
  });
});
