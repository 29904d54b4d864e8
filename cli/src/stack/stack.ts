import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { analyzerConfigShape } from '@mlmon/analyzer/config';
import { apiConfigShape } from '@mlmon/api/config';
import { logGlob } from '@mlmon/contract';
import { runnerConfigShape } from '@mlmon/watcher-rules/config';
import { shipperConfigShape } from '@mlmon/log-shipper/config';
import { remediatorConfigShape } from '@mlmon/remediator/config';
import { alertmanagerArgs, alertmanagerBinary, waitReady } from '@mlmon/alertmanager';
import { LocalNginx, ensureNginx } from '@mlmon/nginx';
import { serviceEnv, waitUntil, type EventLog } from '@mlmon/runtime';
import { Managed, type ProcessInfo } from './managed.js';
import { REPO_ROOT, serviceEntry, type RunPaths } from './paths.js';

export interface StackOptions {
  paths: RunPaths;
  replicas: number;
  /** nginx gets one upstream slot per possible replica, so scaling up to this never reloads it. */
  maxReplicas: number;
  /** The most the remediator may scale to, never above maxReplicas. */
  remediatorMaxReplicas?: number | undefined;
  listenPort: number;
  statusPort: number;
  firstReplicaPort: number;
  remediatorPort: number;
  /** Prometheus Alertmanager, which the rule runner posts its alerts to (127.0.0.1 only). */
  alertmanagerPort: number;
  /** The supervisor's control API, which the remediator scales and restarts through. */
  controlUrl: string;
  adminToken: string;
  /** The remediator's webhook token; the admin token when unset. */
  remediatorToken?: string | undefined;
  bodyLimitBytes: number;
  log: EventLog;
  /** Called whenever the set of replicas the stack keeps running changes: at once on a scale-in, before the replica drains. */
  onReplicaSetChange?: () => void;
}

export class UnknownProcessError extends Error {
  constructor(name: string, known: string[]) {
    super(`no replica named "${name}"; running: ${known.join(', ') || 'none'}`);
    this.name = 'UnknownProcessError';
  }
}

async function waitHttp(url: string, isAlive: () => boolean, timeoutMs = 30_000): Promise<void> {
  await waitUntil(async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok, {
    timeoutMs,
    what: `${url} answering`,
    abortIf: () => (isAlive() ? undefined : 'the process exited first'),
  });
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
  private analyzer: Managed | undefined;
  private ruleRunner: Managed | undefined;
  private remediator: Managed | undefined;
  private alertmanager: Managed | undefined;
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
    void this.o.log.write('mlmon.app', level, message, {});
    console.log(`[${new Date().toISOString()}] ${level} ${message}`);
  };

  private slots(): string[] {
    return Array.from({ length: this.o.maxReplicas }, (_, i) => `127.0.0.1:${this.o.firstReplicaPort + i}`);
  }

  /**
   * One service of the stack as a supervised process: its compiled entry run with plain node,
   * its environment built from its own config shape, its stderr in the log folder, and, for an
   * HTTP service, ready once `readyPath` answers.
   */
  private service(o: { name: string; pkg: Parameters<typeof serviceEntry>[0]; env: Record<string, string>; stderr: string; port?: number; readyPath?: string }): Managed {
    const out = openSync(path.join(this.o.paths.logs, o.stderr), 'a');
    let child: ChildProcess | undefined;
    const ready = o.readyPath ? () => waitHttp(`http://127.0.0.1:${o.port}${o.readyPath}`, () => child?.exitCode === null) : undefined;
    return new Managed(
      o.name,
      o.port,
      () => (child = spawn(process.execPath, [serviceEntry(o.pkg)], { cwd: REPO_ROOT, env: { ...process.env, ...o.env }, stdio: ['ignore', out, out] })),
      this.report,
      ready,
    );
  }

  private replica(index: number): Managed {
    const port = this.o.firstReplicaPort + index - 1;
    const name = `replica-${index}`;
    return this.service({
      name,
      pkg: 'api',
      port,
      readyPath: '/readyz',
      stderr: `${name}.stderr.log`,
      env: serviceEnv(apiConfigShape, {
        MLMON_API_PORT: port,
        MLMON_API_REPLICA_ID: name,
        MLMON_LOG_DIR: this.o.paths.logs,
        MLMON_API_MODEL_STATE_FILE: this.o.paths.modelState,
        MLMON_API_RETRAINED_MODEL_DIR: this.o.paths.retrainedModels,
        MLMON_API_ADMIN_TOKEN: this.o.adminToken,
        MLMON_API_BODY_LIMIT_BYTES: this.o.bodyLimitBytes,
      }),
    });
  }

  /** The log shipper tails every service's NDJSON in the run folder into Elasticsearch. */
  private shipperProcess(): Managed {
    return this.service({
      name: 'log-shipper',
      pkg: 'log-shipper',
      stderr: 'shipper.stderr.log',
      env: serviceEnv(shipperConfigShape, {
        MLMON_SHIPPER_GLOBS: logGlob(this.o.paths.logs),
        MLMON_SHIPPER_STATE_DIR: path.join(this.o.paths.runDir, 'shipper'),
        MLMON_LOG_DIR: this.o.paths.logs,
      }),
    });
  }

  /** The analyzer indexes its metric documents itself; its app lines go to the same log folder, which the shipper indexes. */
  private analyzerProcess(): Managed {
    return this.service({
      name: 'analyzer',
      pkg: 'analyzer',
      stderr: 'analyzer.stderr.log',
      // The retrained versions' reference.json files are where the replicas load those versions from.
      env: serviceEnv(analyzerConfigShape, {
        MLMON_LOG_DIR: this.o.paths.logs,
        MLMON_ANALYZER_STATE_DIR: path.join(this.o.paths.runDir, 'analyzer'),
        MLMON_ANALYZER_RETRAINED_MODEL_DIR: this.o.paths.retrainedModels,
      }),
    });
  }

  private get alertmanagerUrl(): string {
    return `http://127.0.0.1:${this.o.alertmanagerPort}`;
  }

  /**
   * Alertmanager with the committed alertmanager.yml; its silences and notification log live in the
   * run folder, so a silence outlives `mlmon down` and `mlmon up`.
   */
  private alertmanagerProcess(): Managed {
    const out = openSync(path.join(this.o.paths.logs, 'alertmanager.stderr.log'), 'a');
    const run = { dataDir: path.join(this.o.paths.runDir, 'alertmanager'), port: this.o.alertmanagerPort };
    const binary = alertmanagerBinary();
    let child: ChildProcess | undefined;
    return new Managed(
      'alertmanager',
      this.o.alertmanagerPort,
      () => {
        mkdirSync(run.dataDir, { recursive: true });
        return (child = spawn(binary, alertmanagerArgs(run), { stdio: ['ignore', out, out] }));
      },
      this.report,
      () => waitReady(this.alertmanagerUrl, child!),
    );
  }

  /**
   * The rule runner executes the alert rules (watcher-rules/) on this cluster;
   * its alerts land in the logs folder for the shipper. It calls the
   * remediator with the stack's admin token.
   */
  private ruleRunnerProcess(): Managed {
    return this.service({
      name: 'rule-runner',
      pkg: 'watcher-rules',
      stderr: 'rule-runner.stderr.log',
      env: serviceEnv(runnerConfigShape, {
        MLMON_LOG_DIR: this.o.paths.logs,
        MLMON_RULES_NODE: 'rule-runner',
        MLMON_REMEDIATOR_URL: `http://127.0.0.1:${this.o.remediatorPort}`,
        MLMON_REMEDIATOR_TOKEN: this.o.remediatorToken ?? this.o.adminToken,
        MLMON_ALERTMANAGER_URL: this.alertmanagerUrl,
      }),
    });
  }

  /**
   * The remediator acts on alerts through the supervisor's control API and the
   * replicas' admin API (via nginx); both take the stack's admin token, and so
   * do its webhooks unless MLMON_REMEDIATOR_TOKEN is set. Its other settings
   * (MLMON_REMEDIATOR_DRY_RUN, limits) come from the environment `mlmon up` runs in.
   */
  private remediatorProcess(): Managed {
    const port = this.o.remediatorPort;
    return this.service({
      name: 'remediator',
      pkg: 'remediator',
      port,
      readyPath: '/healthz',
      stderr: 'remediator.stderr.log',
      env: serviceEnv(remediatorConfigShape, {
        MLMON_REMEDIATOR_PORT: port,
        MLMON_REMEDIATOR_TOKEN: this.o.remediatorToken ?? this.o.adminToken,
        MLMON_REMEDIATOR_STATE_FILE: this.o.paths.remediatorState,
        MLMON_REMEDIATOR_BACKEND: 'supervisor',
        MLMON_REMEDIATOR_MAX_REPLICAS: Math.min(this.o.maxReplicas, this.o.remediatorMaxReplicas ?? this.o.maxReplicas),
        MLMON_SUPERVISOR_URL: this.o.controlUrl,
        MLMON_SUPERVISOR_TOKEN: this.o.adminToken,
        MLMON_API_URL: `http://127.0.0.1:${this.o.listenPort}`,
        MLMON_API_ADMIN_TOKEN: this.o.adminToken,
        MLMON_RETRAIN_OUTPUT_DIR: this.o.paths.retrainedModels,
        MLMON_RETRAIN_WORK_DIR: this.o.paths.retrainWork,
        MLMON_LOG_DIR: this.o.paths.logs,
      }),
    });
  }

  async start(): Promise<void> {
    this.shipper = this.shipperProcess();
    await this.shipper.launch();
    this.analyzer = this.analyzerProcess();
    await this.analyzer.launch();
    this.alertmanager = this.alertmanagerProcess();
    await this.alertmanager.launch();
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
    this.remediator = this.remediatorProcess();
    await this.remediator.launch();
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
        this.o.onReplicaSetChange?.();
        this.report('info', `scaled out: replica-${index} added (${this.replicas.size} replicas)`);
      }
      while (this.replicas.size > count) {
        const index = Math.max(...this.replicas.keys());
        const r = this.replicas.get(index)!;
        this.replicas.delete(index);
        this.o.onReplicaSetChange?.();
        await r.stop('SIGTERM');
        this.report('info', `scaled in: replica-${index} removed (${this.replicas.size} replicas)`);
      }
      return this.processes();
    });
    this.scaling = run.catch(() => {});
    return run;
  }

  /** Restarts one replica by name (e.g. replica-2), serialized with scaling so it cannot race a scale-in of the same slot. */
  restartReplica(name: string): Promise<ProcessInfo> {
    const run = this.scaling.then(async () => {
      const replica = [...this.replicas.values()].find((r) => r.name === name);
      if (!replica) throw new UnknownProcessError(name, [...this.replicas.values()].map((r) => r.name));
      await replica.restart();
      return replica.info();
    });
    this.scaling = run.catch(() => {});
    return run;
  }

  /** The replicas the stack keeps running (its desired set), by the names their log lines carry. */
  replicaNames(): string[] {
    return [...this.replicas.values()].map((r) => r.name).sort();
  }

  processes(): ProcessInfo[] {
    const others = [this.nginxProcess, this.shipper, this.analyzer, this.alertmanager, this.ruleRunner, this.remediator].filter((p): p is Managed => p !== undefined);
    return [...others.map((p) => p.info()), ...[...this.replicas.values()].map((r) => r.info())];
  }

  async stop(): Promise<void> {
    // No new action while the stack goes down.
    await this.remediator?.stop('SIGTERM');
    await this.scaling;
    // nginx first, so no new request reaches a replica that is draining.
    await this.nginxProcess?.stop('SIGQUIT');
    await Promise.all([...this.replicas.values()].map((r) => r.stop('SIGTERM')));
    await this.ruleRunner?.stop('SIGTERM');
    await this.alertmanager?.stop('SIGTERM');
    await this.analyzer?.stop('SIGTERM');
    this.report('info', 'stack stopped');
    // Last, so that it ships the final lines of the others (its SIGTERM flushes and checkpoints).
    await this.shipper?.stop('SIGTERM');
  }
}
