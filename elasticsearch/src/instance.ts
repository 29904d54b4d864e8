import { execFileSync, spawn } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { chown, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { loadConfig, waitUntil } from '@mlmon/runtime';
import { launcherConfigShape } from './config.js';
import { ensureDistribution } from './distribution.js';
import { RUNTIME_DIR, isRoot } from './paths.js';

/** The system user Elasticsearch runs as when we are root: it refuses to run as root itself. */
export const ES_USER = 'mlmon-es';

export interface InstanceOptions {
  /** Instances are independent clusters: `dev` for the local stack, `test` for the test run. */
  name: string;
  port: number;
  /** Wipe the data directory first, so the cluster starts empty. */
  fresh?: boolean;
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
  /**
   * Security on, with the file realm (the native realm and API keys need
   * modules this distribution lacks): these roles in roles.yml and these users,
   * plus a superuser the launcher itself uses to tell when the node is ready.
   */
  security?: {
    roles: Record<string, unknown>;
    users: Array<{ username: string; password: string; roles: string[] }>;
  };
  /** One node of a multi-node cluster (cluster.ts) instead of a single-node cluster. */
  member?: ClusterMember;
  /** JVM heap, e.g. `384m`: the nodes of a local multi-node cluster share one machine. Default 512m to 1g. */
  heap?: string;
}

/** How one node finds the others of its cluster, all on 127.0.0.1. */
export interface ClusterMember {
  /** cluster.name: nodes join only a cluster of their own name, so two local clusters never merge. */
  cluster: string;
  /** node.roles, e.g. ['master', 'data'] or ['data']. */
  roles: readonly string[];
  transportPort: number;
  /** The transport ports of every node of the cluster (discovery.seed_hosts). */
  seedPorts: readonly number[];
  /** The master-eligible nodes' names, for the cluster's very first start (cluster.initial_master_nodes). */
  initialMasterNodes: readonly string[];
}

/** The file-realm superuser of an instance started with `security`. */
export const LAUNCHER_USER = { username: 'mlmon-launcher', password: 'mlmon-launcher-password' };

export interface InstanceStatus {
  name: string;
  url: string;
  pid: number | undefined;
  running: boolean;
  health?: string;
  version?: string;
}

function instanceDir(name: string): string {
  return path.join(RUNTIME_DIR, 'instances', name);
}

const files = (name: string) => {
  const dir = instanceDir(name);
  return {
    dir,
    config: path.join(dir, 'config'),
    data: path.join(dir, 'data'),
    logs: path.join(dir, 'logs'),
    pid: path.join(dir, 'elasticsearch.pid'),
    launcherPid: path.join(dir, 'launcher.pid'),
    port: path.join(dir, 'port'),
    console: path.join(dir, 'logs', 'console.log'),
  };
};

function findJavaHome(): string {
  const { ES_JAVA_HOME, JAVA_HOME } = loadConfig(launcherConfigShape);
  const fromEnv = ES_JAVA_HOME ?? JAVA_HOME;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'java');
    if (existsSync(candidate)) return path.dirname(path.dirname(realpathSync(candidate)));
  }
  throw new Error('no Java found: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless) or set ES_JAVA_HOME');
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Running (not a zombie) and still an Elasticsearch process: a stale pid file
 * may name a recycled pid. The node's JVM is a child of the launcher JVM, and
 * after SIGTERM it lingers as a zombie until the launcher reaps it.
 */
function isElasticsearch(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('org.elasticsearch');
  } catch {
    return false;
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function tail(file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

function ensureUser(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', ES_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', ES_USER]);
  }
  const uid = Number(execFileSync('id', ['-u', ES_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', ES_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
  await chown(dir, uid, gid);
}

/**
 * A password as the file realm stores it in PBKDF2 form, one of the hashes it reads whatever hashing
 * algorithm the node is set to: {PBKDF2}<rounds>$<32-byte salt>$<32-byte HMAC-SHA512 key>, both base64.
 */
function fileRealmHash(password: string): string {
  const salt = randomBytes(32);
  return `{PBKDF2}10000$${salt.toString('base64')}$${pbkdf2Sync(password, salt, 10_000, 32, 'sha512').toString('base64')}`;
}

/** Discovery settings: a single-node cluster, or one node of several on loopback. */
function discovery(name: string, member: ClusterMember | undefined, bootstrapped: boolean): string[] {
  // The transport port is picked from a range so that dev and test instances can run side by side.
  if (!member) return ['cluster.name: mlmon', 'transport.port: 9300-9399', 'discovery.type: single-node'];
  return [
    `cluster.name: ${member.cluster}`,
    `node.name: ${name}`,
    `node.roles: [${member.roles.join(', ')}]`,
    `transport.port: ${member.transportPort}`,
    `discovery.seed_hosts: [${member.seedPorts.map((p) => `"127.0.0.1:${p}"`).join(', ')}]`,
    // Only to form the cluster the first time: once a node has joined, the setting is ignored at best
    // and, left in place, could bootstrap a second cluster from a wiped node.
    ...(bootstrapped ? [] : [`cluster.initial_master_nodes: [${member.initialMasterNodes.join(', ')}]`]),
  ];
}

async function writeConfig(distDir: string, f: ReturnType<typeof files>, opts: InstanceOptions): Promise<void> {
  const { port, security } = opts;
  // Each instance gets its own ES_PATH_CONF so the unpacked distribution stays read-only and shared.
  await rm(f.config, { recursive: true, force: true });
  await cp(path.join(distDir, 'config'), f.config, { recursive: true });
  await writeFile(
    path.join(f.config, 'elasticsearch.yml'),
    [
      '# Written by mlmon on every start; edit elasticsearch/src/instance.ts instead.',
      // Loopback only keeps the node in development mode: bootstrap checks warn instead of refusing to start.
      'network.host: 127.0.0.1',
      `http.port: ${port}`,
      // A node that has joined a cluster keeps its state under data/_state.
      ...discovery(opts.name, opts.member, existsSync(path.join(f.data, '_state'))),
      ...(security
        ? [
            'xpack.security.enabled: true',
            // Loopback only: TLS is the job of a real deployment (docker-compose), not of the tests.
            'xpack.security.http.ssl.enabled: false',
            'xpack.security.transport.ssl.enabled: false',
          ]
        : ['xpack.security.enabled: false']),
      `path.data: ${f.data}`,
      `path.logs: ${f.logs}`,
      // A laptop disk at 90% must not turn every index read-only in the middle of a demo.
      'cluster.routing.allocation.disk.threshold_enabled: false',
      'action.destructive_requires_name: true',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(f.config, 'jvm.options.d', 'mlmon-heap.options'), opts.heap ? `-Xms${opts.heap}\n-Xmx${opts.heap}\n` : '-Xms512m\n-Xmx1g\n');
  if (security) {
    // YAML is a superset of JSON, so the role descriptors go in as they are.
    await writeFile(path.join(f.config, 'roles.yml'), Object.entries(security.roles).map(([name, role]) => `${name}: ${JSON.stringify(role)}`).join('\n') + '\n');
    // The file realm's two files, as `elasticsearch-users useradd` writes them. By hand, because that
    // tool starts a JVM for each user: 3 s of CPU apiece, ten seconds and more on a busy machine.
    const users = [{ ...LAUNCHER_USER, roles: ['superuser'] }, ...security.users];
    await writeFile(path.join(f.config, 'users'), users.map((u) => `${u.username}:${fileRealmHash(u.password)}\n`).join(''));
    const byRole = new Map<string, string[]>();
    for (const u of users) for (const role of u.roles) byRole.set(role, [...(byRole.get(role) ?? []), u.username]);
    await writeFile(path.join(f.config, 'users_roles'), [...byRole].map(([role, names]) => `${role}:${names.join(',')}\n`).join(''));
  }
  // The stock options write GC logs, heap dumps and crash files relative to the working directory.
  const jvmOptions = path.join(f.config, 'jvm.options');
  const options = await readFile(jvmOptions, 'utf8');
  await writeFile(jvmOptions, options.replaceAll('=logs/', `=${f.logs}/`).replaceAll('HeapDumpPath=data', `HeapDumpPath=${f.data}`));
}

export async function instanceStatus(name: string, port?: number): Promise<InstanceStatus> {
  const f = files(name);
  const pid = readPid(f.pid);
  const knownPort = port ?? readPid(f.port);
  const url = `http://127.0.0.1:${knownPort ?? '?'}`;
  const running = isElasticsearch(pid);
  const status: InstanceStatus = { name, url, pid: running ? pid : undefined, running };
  if (running && knownPort) {
    try {
      const [root, health] = await Promise.all([
        fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.json() as Promise<{ version: { number: string } }>),
        fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.json() as Promise<{ status: string }>,
        ),
      ]);
      status.version = root.version.number;
      status.health = health.status;
    } catch {
      status.health = 'unreachable';
    }
  }
  return status;
}

/**
 * Starts a single-node cluster on 127.0.0.1 and waits until it is yellow or
 * green. Returns at once when this instance already runs. Fails with the tail
 * of its logs when the node dies or does not become ready in time.
 */
export async function startInstance(opts: InstanceOptions): Promise<InstanceStatus & { started: boolean }> {
  const log = opts.log ?? console.log;
  const f = files(opts.name);
  const current = await instanceStatus(opts.name);
  if (current.running) {
    if (readPid(f.port) !== opts.port) {
      throw new Error(`instance "${opts.name}" already runs on ${current.url}; stop it first to change its port`);
    }
    return { ...current, started: false };
  }
  if (await portInUse(opts.port)) {
    throw new Error(
      `port ${opts.port} is in use by another process: choose another port (MLMON_ES_PORT) or point MLMON_ES_URL at that cluster`,
    );
  }

  const distDir = await ensureDistribution(log);
  if (opts.fresh) await rm(f.data, { recursive: true, force: true });
  await mkdir(f.data, { recursive: true });
  await mkdir(f.logs, { recursive: true });
  await writeConfig(distDir, f, opts);
  await writeFile(f.port, String(opts.port));
  await rm(f.pid, { force: true });

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ES_PATH_CONF: f.config,
    ES_JAVA_HOME: findJavaHome(),
    // The instance directory doubles as HOME so the JVM never writes into root's home.
    HOME: f.dir,
  };
  delete env.JAVA_HOME;
  delete env.ES_JAVA_OPTS;
  let command = path.join(distDir, 'bin', 'elasticsearch');
  let args = ['-p', f.pid];
  if (isRoot) {
    const { uid, gid } = ensureUser();
    await chownTree(f.dir, uid, gid);
    // setpriv execs in place (unlike su or runuser), so no extra process sits between us and the node.
    args = [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', command, ...args];
    command = 'setpriv';
  }
  const out = openSync(f.console, 'a');
  const child = spawn(command, args, { cwd: f.dir, env, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  await writeFile(f.launcherPid, String(child.pid));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));

  const url = `http://127.0.0.1:${opts.port}`;
  // Elasticsearch names its log after the cluster.
  const nodeLog = path.join(f.logs, `${opts.member?.cluster ?? 'mlmon'}.log`);
  const started = Date.now();
  let lastReport = started;
  log(`starting Elasticsearch "${opts.name}" on ${url} (logs: ${f.logs})`);
  const healthy = async () => {
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      log(`  still waiting for Elasticsearch (${Math.round((lastReport - started) / 1000)}s)`);
    }
    const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, {
      signal: AbortSignal.timeout(3000),
      ...(opts.security ? { headers: { authorization: `Basic ${Buffer.from(`${LAUNCHER_USER.username}:${LAUNCHER_USER.password}`).toString('base64')}` } } : {}),
    });
    return res.ok;
  };
  try {
    await waitUntil(healthy, {
      timeoutMs: opts.readyTimeoutMs ?? 120_000,
      intervalMs: 500,
      what: `Elasticsearch "${opts.name}" ready`,
      abortIf: () => (exited === undefined ? undefined : `exited with code ${exited}`),
    });
  } catch {
    // The wait's own message lacks what explains it: the node's output.
    if (exited !== undefined) {
      throw new Error(
        `Elasticsearch exited with code ${exited} before it was ready.\n--- ${f.console}\n${await tail(f.console, 30)}\n--- ${nodeLog}\n${await tail(nodeLog, 30)}`,
      );
    }
    // The launcher and the node share the process group we created, so this ends both.
    process.kill(-child.pid!, 'SIGKILL');
    throw new Error(
      `Elasticsearch was not ready after ${Math.round((Date.now() - started) / 1000)}s.\n--- ${nodeLog}\n${await tail(nodeLog, 30)}`,
    );
  }
  log(`Elasticsearch "${opts.name}" ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return { ...(await instanceStatus(opts.name)), started: true };
}

/** SIGTERM, then SIGKILL if the node has not exited within the grace period. */
export async function stopInstance(
  name: string,
  opts: { graceMs?: number; log?: (msg: string) => void } = {},
): Promise<boolean> {
  const log = opts.log ?? console.log;
  const f = files(name);
  const pid = readPid(f.pid);
  const launcher = readPid(f.launcherPid);
  if (!isElasticsearch(pid)) {
    await rm(f.pid, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  // Done when the launcher has exited too: it reaps the node, so nothing is left behind, not even a zombie.
  const running = () => isElasticsearch(pid) || isElasticsearch(launcher);
  const gone = (timeoutMs: number, intervalMs: number) => waitUntil(() => !running(), { timeoutMs, intervalMs, what: `Elasticsearch "${name}" (pid ${pid}) exiting` });
  if (!(await gone(opts.graceMs ?? 60_000, 200).catch(() => false))) {
    log(`Elasticsearch "${name}" (pid ${pid}) ignored SIGTERM; killing it`);
    for (const p of [pid, launcher]) if (isElasticsearch(p)) process.kill(p, 'SIGKILL');
    await gone(10_000, 100);
  }
  await rm(f.pid, { force: true });
  await rm(f.launcherPid, { force: true });
  log(`Elasticsearch "${name}" stopped`);
  return true;
}
