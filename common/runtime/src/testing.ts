import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portNumber, positiveDuration, setting } from './config.js';
import { waitUntil } from './wait-until.js';

/** PEM file paths of a throwaway CA and of a server certificate and key it signed. */
export interface ThrowawayTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A CA and a server certificate for 127.0.0.1 and localhost, valid for a day,
 * made with the openssl CLI: Node has no API that issues certificates. Each
 * call makes a new CA, so one test can hold a certificate another CA signed.
 */
export function throwawayTls(): ThrowawayTls {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
    }
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
  openssl(['req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=mlmon test CA']);
  openssl([
    'req', '-x509', ...newKey, '-keyout', file('server.key'), '-out', file('server.pem'), '-subj', '/CN=localhost',
    '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
    // Without these the CA's own extensions (CA:TRUE) would be copied into the server certificate.
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
  ]);
  return { ca: file('ca.pem'), cert: file('server.pem'), key: file('server.key') };
}

/** What the test harness reads from the environment (besides MLMON_ES_URL, which points it at an existing cluster). */
export const testConfigShape = {
  MLMON_TEST_ES_PORT: setting(portNumber.default(9201), {
    description: 'Port of the `test` cluster the test run starts when MLMON_ES_URL is unset (apart from the `dev` one `mlmon up` runs).',
    aliases: ['ES_TEST_PORT'],
  }),
  MLMON_TEST_LOOP_STEADY: setting(positiveDuration.prefault('40s'), {
    description: 'How long the steady scenario of cli/test/loop/replicas.int.test.ts runs the stack with no fault and expects no rule to fire (5m found the next fix once).',
    aliases: [{ name: 'LOOP_STEADY_S', unit: 's' }],
  }),
  MLMON_TEST_JUDGMENT_STEADY: setting(positiveDuration.prefault('120s'), {
    description:
      'How long cli/test/judgment-loop.int.test.ts sends steady holdout traffic and expects no drift, OOD or estimate rule before it shifts the inputs (the rules read the last minute; 5m is the five minutes of issue 21).',
  }),
};

/**
 * The model's Python (model/.venv) once `scripts/bootstrap.sh --test` has made it. The bootstrap makes it in the
 * background, minutes from PyPI on a fresh clone, while the type check, the linter and the other tests run; a test
 * that needs it waits here rather than failing on a half-made environment or starting a second one. Without a
 * bootstrap status (a developer's checkout with its venv) the venv is used as it is.
 */
export async function bootstrappedPython(repoRoot: string, timeoutMs = 600_000): Promise<string> {
  const python = path.join(repoRoot, 'model', '.venv', 'bin', 'python');
  const statusFile = path.join(repoRoot, '.cache', 'bootstrap', 'python-env.status');
  const log = path.join(repoRoot, '.cache', 'bootstrap', 'python-env.log');
  const read = () => (existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : 'none').split(' ');
  const running = () => read()[0] === 'running';
  if (running()) console.log(`waiting for the bootstrap to finish model/.venv (${log})`);
  const final = await waitUntil(() => (running() ? undefined : read()[0]), {
    timeoutMs,
    intervalMs: 1000,
    what: `scripts/bootstrap.sh --test to finish the model's Python environment (${log})`,
    // A job killed with an interrupted run leaves "running <pid>" behind: waiting for it would wait for nothing.
    abortIf: () => {
      const [state, pid] = read();
      return state === 'running' && pid && !alive(Number(pid)) ? `its job (pid ${pid}) ended without a status: run scripts/bootstrap.sh --test again` : undefined;
    },
  });
  if (final !== 'none' && final !== '0') throw new Error(`scripts/bootstrap.sh --test could not make model/.venv (exit ${final}):\n${readFileSync(log, 'utf8')}`);
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/bootstrap.sh --test (it makes the model's venv with NannyML)`);
  return python;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
