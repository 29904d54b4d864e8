import type { ChildProcess } from 'node:child_process';

export interface ProcessInfo {
  name: string;
  pid: number | undefined;
  port: number | undefined;
  restarts: number;
  startedAt: string | undefined;
  state: 'starting' | 'running' | 'restarting' | 'stopped';
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A process that stayed up this long is healthy again: its next crash restarts quickly. */
const STABLE_AFTER_MS = 60_000;

/**
 * One supervised child: started by `start`, restarted with exponential backoff
 * when it exits without being asked to, and reported through `onEvent`.
 */
export class Managed {
  private child: ChildProcess | undefined;
  private restarts = 0;
  private backoffMs = BACKOFF_START_MS;
  private startedAt: number | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  state: ProcessInfo['state'] = 'starting';

  constructor(
    readonly name: string,
    readonly port: number | undefined,
    private readonly start: () => ChildProcess,
    private readonly onEvent: (level: 'info' | 'warn' | 'error', message: string) => void,
    /** Run after every (re)start before the process counts as running, e.g. a readiness probe. */
    private readonly ready: () => Promise<void> = async () => {},
  ) {}

  async launch(): Promise<void> {
    this.stopping = false;
    this.spawn();
    await this.ready();
    this.state = 'running';
  }

  private spawn(): void {
    const child = this.start();
    this.child = child;
    this.startedAt = Date.now();
    this.state = 'starting';
    child.once('exit', (code, signal) => {
      if (this.stopping) {
        this.state = 'stopped';
        return;
      }
      const lived = Date.now() - (this.startedAt ?? Date.now());
      if (lived > STABLE_AFTER_MS) this.backoffMs = BACKOFF_START_MS;
      this.state = 'restarting';
      this.onEvent('warn', `${this.name} (pid ${child.pid}) died (${signal ?? `exit ${code}`}) after ${Math.round(lived / 1000)}s; restarting in ${this.backoffMs} ms`);
      this.restartTimer = setTimeout(() => {
        this.restarts += 1;
        this.spawn();
        this.ready().then(
          () => {
            this.state = 'running';
            this.onEvent('info', `${this.name} restarted (pid ${this.child?.pid}), restart #${this.restarts}`);
          },
          (err: Error) => this.onEvent('error', `${this.name} restart failed: ${err.message}`),
        );
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    });
  }

  info(): ProcessInfo {
    const alive = this.child && this.child.exitCode === null && this.child.signalCode === null;
    return {
      name: this.name,
      pid: alive ? this.child!.pid : undefined,
      port: this.port,
      restarts: this.restarts,
      startedAt: this.startedAt ? new Date(this.startedAt).toISOString() : undefined,
      state: this.state,
    };
  }

  /**
   * Replaces the process on request, for one that is alive but not working (a
   * hung replica the exit handler never sees): SIGTERM, SIGKILL after the
   * grace period (a stopped process ignores SIGTERM until continued), then a
   * fresh start through the same path a crash takes, without its backoff.
   */
  async restart(graceMs = 5000): Promise<void> {
    await this.stop('SIGTERM', graceMs);
    this.restarts += 1;
    this.onEvent('info', `${this.name} restarting on request`);
    await this.launch();
    this.onEvent('info', `${this.name} restarted on request (pid ${this.child?.pid}), restart #${this.restarts}`);
  }

  /** Asks the process to stop with `signal` and waits for it; SIGKILL after the grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.state = 'stopped';
  }
}
