import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderNginxConf, type NginxConfOptions } from './render.js';

const isRoot = process.getuid?.() === 0;

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** nginx from Debian's package: installed when missing and we are root, otherwise a clear error. */
export function ensureNginx(log: (msg: string) => void = console.log): string {
  const found = which('nginx') ?? (['/usr/sbin/nginx'].find((p) => spawnSync(p, ['-v']).status === 0));
  if (found) return found;
  if (!isRoot || !which('apt-get')) {
    throw new Error('nginx is not installed: install it (Debian: sudo apt-get install nginx) or run as root to let mlmon install it');
  }
  log('installing nginx with apt-get');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return '/usr/sbin/nginx';
}

/** The upstreams come with start(); user and temp folder follow from who runs nginx. */
export type LocalNginxOptions = Omit<NginxConfOptions, 'user' | 'tempDir' | 'upstreams'>;

/**
 * nginx run in the foreground as a child of the supervisor, so a crash is
 * seen and restarted like any replica's.
 */
export class LocalNginx {
  private child: ChildProcess | undefined;
  readonly confPath: string;
  private readonly options: Omit<NginxConfOptions, 'upstreams'>;

  constructor(
    private readonly binary: string,
    opts: LocalNginxOptions,
  ) {
    // As root the workers run as nobody, which cannot enter a checkout in a 0700 folder:
    // their buffers live under the system temp folder instead.
    const tempDir = path.join(os.tmpdir(), `mlmon-nginx-${opts.listen.replace(/[^0-9]/g, '')}`);
    this.options = { ...opts, tempDir, ...(isRoot ? { user: 'nobody nogroup' } : {}) };
    this.confPath = path.join(opts.runDir, 'nginx.conf');
    mkdirSync(opts.runDir, { recursive: true });
    mkdirSync(tempDir, { recursive: true });
    if (isRoot) {
      const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
      chownSync(tempDir, nobody, -1);
    }
  }

  /** Writes the config for these upstreams and checks it with `nginx -t`. */
  private writeConf(upstreams: string[]): void {
    writeFileSync(this.confPath, renderNginxConf({ ...this.options, upstreams }));
    const test = spawnSync(this.binary, ['-t', '-q', '-c', this.confPath], { encoding: 'utf8' });
    if (test.status !== 0) throw new Error(`nginx rejected ${this.confPath}:\n${test.stderr}`);
  }

  start(upstreams: string[]): ChildProcess {
    this.writeConf(upstreams);
    this.child = spawn(this.binary, ['-c', this.confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return this.child;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** SIGQUIT is nginx's graceful stop: workers finish what they serve. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
