import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Client, estypes } from '@elastic/elasticsearch';
import { createEventLog, waitUntil, type EventLog } from '@mlmon/runtime';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const tempDirs: string[] = [];

export function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mlmon-${name}-`));
  tempDirs.push(dir);
  return dir;
}

/** For afterAll: the test files' log and state directories go with them. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Short intervals so that tests see in a second what production sees in ten. */
const FAST = {
  MLMON_SHIPPER_FLUSH_INTERVAL: '100ms',
  MLMON_SHIPPER_POLL_INTERVAL: '50ms',
  MLMON_SHIPPER_SCAN_INTERVAL: '200ms',
  MLMON_SHIPPER_CHECKPOINT_INTERVAL: '200ms',
  MLMON_SHIPPER_BACKOFF_MAX: '1s',
  MLMON_SHIPPER_STATUS_INTERVAL: '1s',
};

export interface ShipperDirs {
  root: string;
  logs: string;
  state: string;
  own: string;
}

export function shipperDirs(name: string): ShipperDirs {
  const root = tempDir(name);
  return { root, logs: path.join(root, 'logs'), state: path.join(root, 'state'), own: path.join(root, 'own') };
}

export function shipperEnv(opts: { url: string; prefix: string; dirs: ShipperDirs }): Record<string, string> {
  return {
    MLMON_ES_URL: opts.url,
    MLMON_INDEX_PREFIX: opts.prefix,
    MLMON_SHIPPER_GLOBS: path.join(opts.dirs.logs, '*.ndjson'),
    MLMON_SHIPPER_STATE_DIR: opts.dirs.state,
    MLMON_LOG_DIR: opts.dirs.own,
  };
}

export interface ShipperProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** A real shipper process (`node log-shipper/dist/main.js`, as production starts it), so that kill -9 is a real kill -9. */
export async function startShipper(env: Record<string, string>): Promise<ShipperProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'log-shipper/dist/main.js')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...FAST, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitUntil(() => output.includes('log-shipper: shipping'), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: 'the shipper starting',
    abortIf: () => (child.exitCode === null ? undefined : `exited with ${child.exitCode}:\n${output}`),
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`);
  });
  return { child, exited, output: () => output };
}

/** Writes ECS lines as a replica does (same formatter, same rotation), and remembers what it wrote. */
export class FakeReplica {
  readonly log: EventLog;
  readonly predictionIds: string[] = [];
  readonly appRequestIds: string[] = [];

  constructor(dir: string, readonly name: string, rotation: { maxBytes?: number; maxFiles?: number } = {}) {
    this.log = createEventLog({
      service: 'mlmon-api',
      node: name,
      dir,
      basename: `api-${name}`,
      maxBytes: rotation.maxBytes ?? 1e12,
      maxFiles: rotation.maxFiles ?? 1000,
    });
  }

  predict(): void {
    const id = randomUUID();
    void this.log.write('mlmon.prediction', 'info', 'prediction', {
      event: { duration: 1_500_000 },
      http: { request: { id: randomUUID() } },
      mlmon: {
        model: { name: 'breast-cancer-classifier', version: 'v1', role: 'active' },
        prediction: { id, label: 'benign', score: 0.12, features: { mean_radius: 12.3, mean_texture: 17.1, mean_area: 480 } },
      },
    });
    this.predictionIds.push(id);
  }

  /** An operational line: no natural id, so it is deduplicated by its stream and offset alone. */
  app(message: string): void {
    const id = randomUUID();
    void this.log.write('mlmon.app', 'info', message, { http: { request: { id } } });
    this.appRequestIds.push(id);
  }
}

/** Writes `count` lines spread over `ms`, in small synchronous bursts, yielding in between. */
export async function traffic(ms: number, count: number, write: (i: number) => void): Promise<void> {
  const bursts = Math.max(1, Math.round(ms / 20));
  let i = 0;
  for (let b = 1; b <= bursts; b++) {
    for (const stop = Math.round((count * b) / bursts); i < stop; i++) write(i);
    await sleep(20);
  }
}

export async function count(client: Client, index: string, query?: estypes.QueryDslQueryContainer): Promise<number> {
  const once = async () => {
    await client.indices.refresh({ index, allow_no_indices: true, ignore_unavailable: true });
    return (await client.count({ index, allow_no_indices: true, ignore_unavailable: true, ...(query ? { query } : {}) })).count;
  };
  try {
    return await once();
  } catch (err) {
    // The shipper's first bulk creates the index; a count that lands before its primary
    // shard has started gets no_shard_available (503). Wait for the shard, then count.
    if ((err as { meta?: { statusCode?: number } }).meta?.statusCode !== 503) throw err;
    await client.cluster.health({ index, wait_for_status: 'yellow', timeout: '30s' });
    return once();
  }
}

/**
 * Exactly once, checked three ways: as many documents as distinct ids written,
 * every written id among them, and no id in two documents. Equal to
 * `{ written: n, indexed: n, present: n, twice: [] }` or the shipper lost or
 * duplicated something.
 */
export async function tally(
  client: Client,
  opts: { index: string; field: string; ids: string[]; query?: estypes.QueryDslQueryContainer },
): Promise<{ written: number; indexed: number; present: number; twice: string[] }> {
  const scoped = (q: estypes.QueryDslQueryContainer) => (opts.query ? { bool: { filter: [opts.query, q] } } : q);
  const indexed = await count(client, opts.index, opts.query);
  const present = await count(client, opts.index, scoped({ terms: { [opts.field]: opts.ids } }));
  const res = await client.search({
    index: opts.index,
    size: 0,
    allow_no_indices: true,
    ignore_unavailable: true,
    ...(opts.query ? { query: opts.query } : {}),
    aggs: { twice: { terms: { field: opts.field, min_doc_count: 2, size: 10 } } },
  });
  const buckets = (res.aggregations?.twice as estypes.AggregationsStringTermsAggregate | undefined)?.buckets;
  const twice = (Array.isArray(buckets) ? buckets : []).map((b) => String(b.key));
  return { written: new Set(opts.ids).size, indexed, present, twice };
}

export const predictionTally = (client: Client, prefix: string, ids: string[]) =>
  tally(client, { index: `${prefix}-predictions-*`, field: 'mlmon.prediction.id', ids });

export const appTally = (client: Client, prefix: string, ids: string[]) =>
  tally(client, { index: `${prefix}-events-*`, field: 'http.request.id', ids, query: { term: { 'service.name': 'mlmon-api' } } });

/** Polls until `done` holds or the time is up, printing progress; returns the last value so the caller's expect shows it. */
export async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  let reported = start;
  let last: T | undefined;
  const check = async () => {
    last = await probe();
    if (Date.now() - reported > 5000) {
      reported = Date.now();
      console.log(`  waiting for ${what} (${Math.round((reported - start) / 1000)} s): ${JSON.stringify(last)}`);
    }
    return done(last);
  };
  // A timeout is not thrown: the caller's expect on the last value says more than "timed out".
  await waitUntil(check, { timeoutMs, intervalMs: 250, what }).catch(() => {});
  return last as T;
}

export function readNdjson<T = Record<string, unknown>>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}
