/**
 * The real local stack for the benchmarks that time the closed loop
 * (bench/loop.ts, bench/detection.ts): `mlmon up` on free ports under an index
 * prefix of its own, a copy of the rules to tune, the CLI to drive traffic,
 * the first event of a kind, and a teardown that leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEsClient, esUrl, freePortBlock, loadEsConfig } from '@mlmon/runtime';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'cli/dist/main.js');

export const finished = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', resolve));

/** A watch file as the benchmarks tune it: its metadata and its actions' throttling. */
export interface TunableWatch {
  metadata: Record<string, unknown>;
  actions: Record<string, { throttle_period?: string }>;
}

export async function benchStack(
  name: string,
  o: { env: Record<string, string>; tune: (id: string, watch: TunableWatch) => void; beforeUp?: ((prefix: string) => Promise<void>) | undefined },
) {
  const prefix = `bench-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const runDir = path.join(mkdtempSync(path.join(os.tmpdir(), `mlmon-bench-${name}-`)), 'run');
  const rulesDir = mkdtempSync(path.join(os.tmpdir(), `mlmon-bench-${name}-rules-`));
  const config = loadEsConfig();
  const client = createEsClient(config, { name: `mlmon-bench-${name}` });
  const env = { ...process.env, MLMON_ES_URL: esUrl(config), MLMON_INDEX_PREFIX: prefix, MLMON_RUN_DIR: runDir, MLMON_RULES_DIR: rulesDir, ...o.env };
  const log = (m: string) => console.log(`[bench:${name}] ${m}`);

  // The shipped rules, tuned in a copy: the watch files' metadata is the one place thresholds and windows live.
  cpSync(path.join(REPO_ROOT, 'watcher-rules/watches'), rulesDir, { recursive: true });
  for (const file of readdirSync(rulesDir).filter((f) => f.endsWith('.json'))) {
    const watch = JSON.parse(readFileSync(path.join(rulesDir, file), 'utf8')) as TunableWatch;
    o.tune(path.basename(file, '.json'), watch);
    writeFileSync(path.join(rulesDir, file), JSON.stringify(watch));
  }

  const mlmon = (args: string[]): ChildProcess => spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });

  /** The first event of a dataset at or after `since` matching `filter`, oldest first. */
  async function first<T extends { '@timestamp': string }>(dataset: string, since: number, filter: object[] = []): Promise<T | undefined> {
    return (await events<T>(dataset, since, filter, 1))[0];
  }
  async function events<T extends { '@timestamp': string }>(dataset: string, since: number, filter: object[] = [], size = 100): Promise<T[]> {
    const res = await client.search<T>(
      {
        index: `${prefix}-*`,
        size,
        sort: [{ '@timestamp': 'asc' }],
        query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { range: { '@timestamp': { gte: new Date(since).toISOString() } } }, ...filter] } },
      },
      { ignore: [404] },
    );
    return (res.hits?.hits ?? []).map((h) => h._source!);
  }

  await o.beforeUp?.(prefix);
  const port = await freePortBlock(15);
  log(`starting the stack (prefix ${prefix}, run folder ${runDir})`);
  const up = mlmon(['up', '--replicas', '2', '--max-replicas', '4', '--port', String(port), '--replica-port', String(port + 11), '--remediator-port', String(port + 2), '--alertmanager-port', String(port + 3)]);
  up.stdout!.pipe(process.stdout);
  up.stderr!.pipe(process.stderr);
  if ((await finished(up)) !== 0) throw new Error('mlmon up failed');

  return {
    prefix,
    runDir,
    log,
    mlmon,
    first,
    events,
    async down(): Promise<void> {
      await finished(mlmon(['down']));
      const indices = Object.keys(await client.indices.get({ index: `${prefix}-*` }, { ignore: [404] }).catch(() => ({})));
      if (indices.length) await client.indices.delete({ index: indices.join(',') });
      await client.close();
    },
  };
}
