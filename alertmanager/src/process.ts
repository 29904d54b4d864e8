import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '@mlmon/runtime';
import { AlertmanagerClient } from './client.js';

/** The committed configuration (docs/alerting.md). */
export const ALERTMANAGER_CONFIG = fileURLToPath(new URL('../alertmanager.yml', import.meta.url));
/** Where scripts/ensure-alertmanager.sh builds the Go module when apt has no package. */
const BUILT = fileURLToPath(new URL('../../.cache/alertmanager/bin/', import.meta.url));

function onPath(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const MISSING = 'is not installed: run scripts/ensure-alertmanager.sh (npm start and npm test run it through scripts/bootstrap.sh)';

/** Debian names the server prometheus-alertmanager; the upstream build calls it alertmanager. */
export function alertmanagerBinary(): string {
  const found = onPath('prometheus-alertmanager') ?? onPath('alertmanager') ?? [path.join(BUILT, 'alertmanager')].find(existsSync);
  if (!found) throw new Error(`Alertmanager ${MISSING}`);
  return found;
}

export function amtoolBinary(): string {
  const found = onPath('amtool') ?? [path.join(BUILT, 'amtool')].find(existsSync);
  if (!found) throw new Error(`amtool ${MISSING}`);
  return found;
}

export interface AlertmanagerRun {
  config?: string;
  /** Silences and the notification log: kept across restarts, so a silence outlives `mlmon down`. */
  dataDir: string;
  port: number;
  host?: string;
}

/**
 * The command line of a standalone Alertmanager: loopback only, clustering off (Debian's build
 * listens for peers on 0.0.0.0:9094 by default), logs as JSON.
 */
export function alertmanagerArgs(o: AlertmanagerRun): string[] {
  const listen = `${o.host ?? '127.0.0.1'}:${o.port}`;
  return [
    `--config.file=${o.config ?? ALERTMANAGER_CONFIG}`,
    `--storage.path=${o.dataDir}`,
    `--web.listen-address=${listen}`,
    `--web.external-url=http://${listen}`,
    '--cluster.listen-address=',
    '--log.format=json',
  ];
}

/** Starts one Alertmanager process; `stdio` as for spawn (the stack sends it to a log file). */
export function spawnAlertmanager(o: AlertmanagerRun, stdio: Parameters<typeof spawn>[2]['stdio'] = 'ignore'): ChildProcess {
  mkdirSync(o.dataDir, { recursive: true });
  return spawn(alertmanagerBinary(), alertmanagerArgs(o), { stdio });
}

/** Waits for /-/ready, failing early when the process exits first (a bad config, a taken port). */
export async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const client = new AlertmanagerClient(url, 1000);
  await waitUntil(() => client.ready(), {
    timeoutMs,
    intervalMs: 100,
    what: `Alertmanager at ${url} ready`,
    abortIf: () => (child.exitCode !== null || child.signalCode !== null ? 'the process exited first' : undefined),
  });
}

export interface LocalAlertmanager {
  url: string;
  client: AlertmanagerClient;
  stop(): Promise<void>;
}

/** A private Alertmanager (tests, benches): started, awaited ready, stopped by its own handle. */
export async function startAlertmanager(o: AlertmanagerRun): Promise<LocalAlertmanager> {
  const child = spawnAlertmanager(o, ['ignore', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://${o.host ?? '127.0.0.1'}:${o.port}`;
  try {
    await waitReady(url, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    url,
    client: new AlertmanagerClient(url),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
