import { readFileSync } from 'node:fs';
import https from 'node:https';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throwawayTls, type ThrowawayTls } from '@mlmon/runtime/testing';
import { loadRemediatorConfig, startRemediator } from '../src/index.js';
import { TOKEN, alert, remediatorFor, tempDir } from './support.js';

/**
 * HTTPS with a certificate made here by a throwaway CA, over real TLS: the
 * remediator as docker-compose runs it, where the rule runner or Watcher
 * trusts the stack's own CA.
 */
let pki: ThrowawayTls;
let r: Awaited<ReturnType<typeof remediatorFor>>;

/** node:https, because it takes the CA per request; the global fetch trusts only the system CAs. */
function request(url: string, o: { ca?: string; auth?: string; body?: unknown }): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.body === undefined ? 'GET' : 'POST',
        ...(o.ca ? { ca: readFileSync(o.ca) } : {}),
        headers: { 'content-type': 'application/json', ...(o.auth ? { authorization: o.auth } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
  });
}

beforeAll(async () => {
  pki = throwawayTls();
  r = await remediatorFor({ MLMON_REMEDIATOR_TLS_CERT: pki.cert, MLMON_REMEDIATOR_TLS_KEY: pki.key, MLMON_REMEDIATOR_DRY_RUN: 'true' });
});
afterAll(() => r.close());

describe('HTTPS', () => {
  it('serves a caller that trusts the CA and carries the token, and refuses one without the token with 401', async () => {
    expect(r.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const hook = `${r.url}/v1/hooks/scale-out`;
    const served = await request(hook, { ca: pki.ca, auth: `Bearer ${TOKEN}`, body: alert() });
    // No engine is configured: the decision itself says so, which proves the hook ran.
    expect(served.status).toBe(502);
    expect(served.body).toMatchObject({ action: 'scale_out', decision: 'failed', reason: 'plan_failed' });
    const anonymous = await request(hook, { ca: pki.ca, body: alert() });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await request(`${r.url}/v1/actions`, { ca: pki.ca, auth: `Bearer ${TOKEN}` })).body).toMatchObject({ dry_run: true });
  });

  it('is not trusted by a caller that lacks the CA', async () => {
    await expect(request(`${r.url}/healthz`, {})).rejects.toThrow('unable to verify the first certificate');
  });

  it('gives a plain-HTTP request to its port no webhook answer', async () => {
    const plain = r.url.replace('https:', 'http:');
    const outcome = await fetch(`${plain}/v1/hooks/scale-out`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(alert()) }).then(
      async (res) => `HTTP ${res.status}: ${await res.text()}`,
      (err: Error) => `error: ${(err.cause as Error | undefined)?.message ?? err.message}`,
    );
    // The TLS server reads the request as a failed handshake and closes the connection: no HTTP answer at all.
    expect(outcome).toMatch(/^error: /);
  });

  it('presents the configured certificate, for 127.0.0.1 and localhost', async () => {
    const { port } = new URL(r.url);
    const presented = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: readFileSync(pki.ca), servername: 'localhost' }, () => {
        resolve(socket.getPeerX509Certificate()!);
        socket.end();
      });
      socket.on('error', reject);
    });
    const configured = new X509Certificate(readFileSync(pki.cert));
    expect(presented.fingerprint256).toBe(configured.fingerprint256);
    expect(presented.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(presented.checkHost('localhost')).toBe('localhost');
    expect(presented.verify(new X509Certificate(readFileSync(pki.ca)).publicKey)).toBe(true);
  });
});

describe('TLS settings', () => {
  const base = { MLMON_REMEDIATOR_TOKEN: TOKEN, MLMON_REMEDIATOR_PORT: '0', MLMON_LOG_DIR: tempDir('remediator-tls'), MLMON_REMEDIATOR_STATE_FILE: `${tempDir('remediator-tls')}/state.json` };

  it('refuses a certificate without its key, and a key without its certificate, naming the missing one', () => {
    expect(() => loadRemediatorConfig({ ...base, MLMON_REMEDIATOR_TLS_CERT: pki.cert })).toThrow(/MLMON_REMEDIATOR_TLS_KEY is required when MLMON_REMEDIATOR_TLS_CERT is set/);
    expect(() => loadRemediatorConfig({ ...base, MLMON_REMEDIATOR_TLS_KEY: pki.key })).toThrow(/MLMON_REMEDIATOR_TLS_CERT is required when MLMON_REMEDIATOR_TLS_KEY is set/);
  });

  it('will not start with a file it cannot read, or a key that is not the certificate’s', async () => {
    const missing = loadRemediatorConfig({ ...base, MLMON_REMEDIATOR_TLS_CERT: '/nonexistent/server.pem', MLMON_REMEDIATOR_TLS_KEY: pki.key });
    await expect(startRemediator(missing)).rejects.toThrow(/MLMON_REMEDIATOR_TLS_CERT cannot be read: ENOENT/);
    const other = throwawayTls();
    const mismatched = loadRemediatorConfig({ ...base, MLMON_REMEDIATOR_TLS_CERT: pki.cert, MLMON_REMEDIATOR_TLS_KEY: other.key });
    await expect(startRemediator(mismatched)).rejects.toThrow(/MLMON_REMEDIATOR_TLS_CERT and MLMON_REMEDIATOR_TLS_KEY are not a usable certificate and key: .*key values mismatch/);
  });
});
