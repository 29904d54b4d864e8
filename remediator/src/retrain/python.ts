import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Runs a command, passing each output line to `line`; rejects with the last lines on a non-zero exit. */
export function run(cmd: string, args: string[], line: (l: string) => void, opts: { cwd?: string } = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    const lines: string[] = [];
    let partial = '';
    const take = (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        line(l);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (partial) lines.push(partial);
      if (code === 0) resolve(lines);
      else reject(new Error(`${path.basename(cmd)} ${args[0] ?? ''} exited with ${code}: ${lines.slice(-5).join(' | ')}`));
    });
  });
}

/**
 * The Python that runs model/train.py: the configured one, or the venv under
 * model/.venv, created from the pinned model/requirements.txt on first use
 * (the same environment the committed artifacts were made with).
 */
export async function trainingPython(o: { configured: string | undefined; modelDir: string; progress: (message: string) => void }): Promise<string> {
  if (o.configured) return o.configured;
  const venv = path.join(o.modelDir, '.venv');
  const python = path.join(venv, 'bin', 'python');
  if (existsSync(python)) return python;
  o.progress(`creating the training environment ${venv} from requirements.txt (first retrain only)`);
  // Built beside it and renamed into place once complete, so that a second process (another
  // retrain, a test) never finds a half-installed environment at the usual path.
  const partial = `${venv}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', partial], () => {});
  let installed = 0;
  await run(path.join(partial, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', path.join(o.modelDir, 'requirements.txt')], (l) => {
    if (/^(Collecting|Successfully installed)/.test(l)) o.progress(`pip: ${l.trim()} (${++installed})`);
  });
  try {
    await rename(partial, venv);
  } catch {
    // Another process finished first: use its environment.
    await rm(partial, { recursive: true, force: true });
  }
  return python;
}
