import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventLog } from '@mlmon/common';
import { LocalNginx, ensureNginx } from '@mlmon/nginx';
import { Managed, type ProcessInfo } from './managed';
import { REPO_ROOT, type RunPaths } from './paths';

export interface StackOptions {
  paths: RunPaths;
  replicas: number;
  /** nginx gets one upstream slot per possible replica, so scaling up to this never reloads it. */
  maxReplicas: number;
  listenPort: number;
  statusPort: number;
  firstReplicaPort: number;
  adminToken: string;
  bodyLimitBytes: number;
  log: EventLog;
}

/**
 * How a service package's entry point (`<pkg>/src/main.ts`) is started: the
 * one place to change when services run compiled (`node <pkg>/dist/main.js`).
 */
function serviceEntry(pkg: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [createRequire(import.meta.url).resolve('tsx/cli'), path.join(REPO_ROOT, pkg, 'src/main.ts')] };
}

async function waitHttp(url: string, isAlive: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process exited before ${url} answered`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

/**
 * The local stack: N api replicas behind nginx, supervised. nginx knows every
 * replica slot from the start (see nginx.conf.mustache), so scaling is starting
 * a replica in a free slot once it is ready, or draining one (SIGTERM lets its
 * requests finish while nginx sends new ones elsewhere): no request is dropped.
 */
export class Stack {
  private readonly replicas = new Map<number, Managed>();
  private readonly nginx: LocalNginx;
  private nginxProcess: Managed | undefined;
  private shipper: Managed | undefined;
  private ruleRunner: Managed | undefined;
  private scaling: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: StackOptions) {
    mkdirSync(o.paths.logs, { recursive: true });
    this.nginx = new LocalNginx(ensureNginx(), {
      listen: `127.0.0.1:${o.listenPort}`,
      statusPort: o.statusPort,
      bodyLimitBytes: o.bodyLimitBytes,
      logDir: o.paths.logs,
      runDir: o.paths.nginx,
    });
  }

  private report = (level: 'info' | 'warn' | 'error', message: string) => {
    this.o.log.write('mlmon.app', level, message, {});
    console.log(`[${new Date().toISOString()}] ${level} ${message}`);
  };

  private slots(): string[] {
    return Array.from({ length: this.o.maxReplicas }, (_, i) => `127.0.0.1:${this.o.firstReplicaPort + i}`);
  }

  private replica(index: number): Managed {
    const port = this.o.firstReplicaPort + index - 1;
    const name = `replica-${index}`;
    const out = openSync(path.join(this.o.paths.logs, `${name}.stderr.log`), 'a');
    let child: ReturnType<typeof spawn> | undefined;
    return new Managed(
      name,
      port,
      () =>
        (child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'api/src/main.ts')], {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            PORT: String(port),
            REPLICA_ID: name,
            LOG_DIR: this.o.paths.logs,
            MODEL_STATE_FILE: this.o.paths.modelState,
            ADMIN_TOKEN: this.o.adminToken,
            BODY_LIMIT_BYTES: String(this.o.bodyLimitBytes),
          },
          stdio: ['ignore', out, out],
        })),
      this.report,
      () => waitHttp(`http://127.0.0.1:${port}/readyz`, () => child?.exitCode === null),
    );
  }

  /** The log shipper tails every service's NDJSON in the run folder into Elasticsearch. */
  private shipperProcess(): Managed {
    const out = openSync(path.join(this.o.paths.logs, 'shipper.stderr.log'), 'a');
    return new Managed(
      'log-shipper',
      undefined,
      () =>
        spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'log-shipper/src/main.ts')], {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            SHIPPER_GLOBS: path.join(this.o.paths.logs, '*.ndjson'),
            SHIPPER_STATE_DIR: path.join(this.o.paths.runDir, 'shipper'),
            SHIPPER_LOG_DIR: this.o.paths.logs,
          },
          stdio: ['ignore', out, out],
        }),
      this.report,
    );
  }

  /**
   * The rule runner executes the alert rules (watcher-rules/) on this cluster;
   * its alerts land in the logs folder for the shipper. It calls the
   * remediator with the stack's admin token.
   */
  private ruleRunnerProcess(): Managed {
    const out = openSync(path.join(this.o.paths.logs, 'rule-runner.stderr.log'), 'a');
    const entry = serviceEntry('watcher-rules');
    return new Managed(
      'rule-runner',
      undefined,
      () =>
        spawn(entry.command, entry.args, {
          cwd: REPO_ROOT,
          env: { ...process.env, LOG_DIR: this.o.paths.logs, RULES_NODE: 'rule-runner', REMEDIATOR_TOKEN: process.env.REMEDIATOR_TOKEN || this.o.adminToken },
          stdio: ['ignore', out, out],
        }),
      this.report,
    );
  }

  async start(): Promise<void> {
    this.shipper = this.shipperProcess();
    await this.shipper.launch();
    this.ruleRunner = this.ruleRunnerProcess();
    await this.ruleRunner.launch();
    await Promise.all(Array.from({ length: this.o.replicas }, (_, i) => this.addReplica(i + 1)));
    let child: ReturnType<LocalNginx['start']> | undefined;
    this.nginxProcess = new Managed(
      'nginx',
      this.o.listenPort,
      () => (child = this.nginx.start(this.slots())),
      this.report,
      () => waitHttp(`http://127.0.0.1:${this.o.statusPort}/nginx_status`, () => child?.exitCode === null),
    );
    await this.nginxProcess.launch();
    this.report('info', `stack up: nginx on 127.0.0.1:${this.o.listenPort} in front of ${this.replicas.size} replicas`);
  }

  private async addReplica(index: number): Promise<void> {
    const r = this.replica(index);
    this.replicas.set(index, r);
    try {
      await r.launch();
    } catch (err) {
      this.replicas.delete(index);
      await r.stop('SIGKILL');
      throw err;
    }
  }

  /** Scale to `count` replicas; calls are serialized so concurrent requests cannot interleave. */
  scaleTo(count: number): Promise<ProcessInfo[]> {
    if (!Number.isInteger(count) || count < 1 || count > this.o.maxReplicas) {
      throw new Error(`replicas must be an integer from 1 to ${this.o.maxReplicas} (mlmon up --max-replicas)`);
    }
    const run = this.scaling.then(async () => {
      while (this.replicas.size < count) {
        let index = 1;
        while (this.replicas.has(index)) index += 1;
        await this.addReplica(index);
        this.report('info', `scaled out: replica-${index} added (${this.replicas.size} replicas)`);
      }
      while (this.replicas.size > count) {
        const index = Math.max(...this.replicas.keys());
        const r = this.replicas.get(index)!;
        this.replicas.delete(index);
        await r.stop('SIGTERM');
        this.report('info', `scaled in: replica-${index} removed (${this.replicas.size} replicas)`);
      }
      return this.processes();
    });
    this.scaling = run.catch(() => {});
    return run;
  }

  processes(): ProcessInfo[] {
    const others = [this.nginxProcess, this.shipper, this.ruleRunner].filter((p): p is Managed => p !== undefined);
    return [...others.map((p) => p.info()), ...[...this.replicas.values()].map((r) => r.info())];
  }

  async stop(): Promise<void> {
    await this.scaling;
    // nginx first, so no new request reaches a replica that is draining.
    await this.nginxProcess?.stop('SIGQUIT');
    await Promise.all([...this.replicas.values()].map((r) => r.stop('SIGTERM')));
    await this.ruleRunner?.stop('SIGTERM');
    this.report('info', 'stack stopped');
    // Last, so that it ships the final lines of the others (its SIGTERM flushes and checkpoints).
    await this.shipper?.stop('SIGTERM');
  }
}
