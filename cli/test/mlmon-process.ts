import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { freePortBlock } from '@mlmon/runtime';
import { REPO_ROOT, serviceEntry } from '../src/stack/paths.js';

/**
 * The compiled `mlmon` run as a user runs it, in this environment: its exit code (or the signal that ended it)
 * and everything it printed. Aborting `stop` sends it SIGTERM, as Ctrl-C on a long `simulate` would.
 */
export function mlmon(args: string[], env: NodeJS.ProcessEnv, stop?: AbortSignal): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [serviceEntry('cli'), ...args], { cwd: REPO_ROOT, env, signal: stop });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // The AbortError of `stop`: the exit that follows says how it ended.
    child.on('error', (err) => (out += `${err.message}\n`));
    child.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

/**
 * `mlmon up` on one block of free ports, so no two are picked free apart and then collide:
 * nginx at the base (+1 status, +2 remediator, +3 Alertmanager, +10 control API), a slot per possible replica from base+11.
 */
export async function upOnFreePorts(o: { replicas: number; maxReplicas: number; esNodes?: number }, env: NodeJS.ProcessEnv): Promise<{ port: number; replicaPort: number; out: string }> {
  const port = await freePortBlock(11 + o.maxReplicas);
  const replicaPort = port + 11;
  const args = ['--replicas', o.replicas, '--max-replicas', o.maxReplicas, '--port', port, '--replica-port', replicaPort, '--remediator-port', port + 2, '--alertmanager-port', port + 3, ...(o.esNodes ? ['--es-nodes', o.esNodes] : [])];
  const run = await mlmon(['up', ...args.map(String)], env);
  expect(run.code, run.out).toBe(0);
  expect(run.out).toContain(`http://127.0.0.1:${port}`);
  return { port, replicaPort, out: run.out };
}
