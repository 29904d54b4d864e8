import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordedApi } from './recorded-api.js';
import { alert, hook, remediatorFor, tempDir } from './support.js';

/**
 * Kubernetes and Docker cannot run here, so their backends talk to a
 * recorded-API fake: each test fails if a request differs from the recording
 * (method, path, query, auth and content type, body) or one is left unmade.
 */
const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name);
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function kubeconfigFor(server: string): Promise<string> {
  const file = path.join(tempDir('kubeconfig'), 'config');
  // JSON is YAML: the client reads it like any kubeconfig.
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // The client refuses plain HTTP unless TLS verification is off; the fake has no certificate.
      clusters: [{ name: 'recorded', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'mlmon-remediator', user: { token: 'recorded-sa-token' } }],
      contexts: [{ name: 'recorded', context: { cluster: 'recorded', user: 'mlmon-remediator' } }],
      'current-context': 'recorded',
    }),
  );
  return file;
}

async function start(fixtureName: string, env: (url: string) => Promise<Record<string, string>>) {
  const api = await recordedApi(fixture(fixtureName));
  const r = await remediatorFor({ MLMON_REMEDIATOR_COOLDOWN: '0s', MLMON_REMEDIATOR_FLAP_WINDOW: '0s', MLMON_REMEDIATOR_SCALE_IN_STABILIZATION: '0s', MLMON_REMEDIATOR_MAX_REPLICAS: '3', ...(await env(api.url)) });
  cleanup.push(api.close, r.close);
  return { api, r };
}

describe('Kubernetes backend (recorded-API fake)', () => {
  it('patches the Deployment scale subresource with a merge patch, within min/max, and cannot restart a pod', async () => {
    const { api, r } = await start('kubernetes-scale.json', async (url) => ({ MLMON_REMEDIATOR_BACKEND: 'kubernetes', MLMON_REMEDIATOR_K8S_NAMESPACE: 'mlmon', MLMON_REMEDIATOR_K8S_DEPLOYMENT: 'mlmon-api', KUBECONFIG: await kubeconfigFor(url) }));
    expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'executed', target: 'deployment/mlmon/mlmon-api', replicas: { before: 2, after: 3 } });
    expect((await hook(r.url, 'scale-out', alert())).body).toMatchObject({ decision: 'refused', reason: 'at_max_replicas' });
    expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'executed', replicas: { before: 3, after: 2 } });
    expect((await hook(r.url, 'restart-replica', alert({ target: 'mlmon-api-7d9c-x2x4q' }))).body).toMatchObject({ decision: 'refused', reason: 'unsupported' });
    expect(api.unexpected).toEqual([]);
    expect(api.remaining()).toBe(0);
  });

  it('reports a denial by RBAC as a failed decision quoting the API server', async () => {
    const { api, r } = await start('kubernetes-forbidden.json', async (url) => ({ MLMON_REMEDIATOR_BACKEND: 'kubernetes', MLMON_REMEDIATOR_K8S_NAMESPACE: 'other', KUBECONFIG: await kubeconfigFor(url) }));
    const res = await hook(r.url, 'scale-out', alert());
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ decision: 'failed', reason: 'plan_failed' });
    expect(res.body.detail).toMatch(/forbidden/);
    expect(api.unexpected).toEqual([]);
    expect(api.remaining()).toBe(0);
  });
});

describe('docker-compose backend (recorded-API fake of the Docker Engine API)', () => {
  it('adds a copy of the newest replica, removes the highest-numbered one, restarts one by name', async () => {
    const { api, r } = await start('docker-compose-scale.json', async (url) => ({ MLMON_REMEDIATOR_BACKEND: 'docker', DOCKER_HOST: url.replace('http:', 'tcp:'), COMPOSE_PROJECT_NAME: 'mlmon', MLMON_REMEDIATOR_COMPOSE_SERVICE: 'api' }));
    const out = await hook(r.url, 'scale-out', alert());
    expect(out.body, JSON.stringify(api.unexpected)).toMatchObject({ decision: 'executed', target: 'compose/mlmon/api', replicas: { before: 2, after: 3 } });
    expect(api.unexpected).toEqual([]);
    expect((await hook(r.url, 'scale-in', alert())).body).toMatchObject({ decision: 'executed', replicas: { before: 3, after: 2 } });
    expect((await hook(r.url, 'restart-replica', alert({ target: 'mlmon-api-1' }))).body).toMatchObject({ decision: 'executed', target: 'mlmon-api-1' });
    expect(api.unexpected).toEqual([]);
    expect(api.remaining()).toBe(0);
  });
});

describe('k8s/remediator-rbac.yaml', () => {
  it('grants the remediator get/patch/update on the api Deployment scale subresource and nothing else', async () => {
    const { loadAllYaml } = await import('@kubernetes/client-node');
    const docs = loadAllYaml(readFileSync(path.join(import.meta.dirname, '../../k8s/remediator-rbac.yaml'), 'utf8')) as Array<{ kind: string; rules?: unknown; subjects?: unknown; roleRef?: unknown }>;
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'Role', 'RoleBinding']);
    expect(docs[1]!.rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments/scale'], resourceNames: ['mlmon-api'], verbs: ['get', 'patch', 'update'] }]);
    expect(docs[2]).toMatchObject({ subjects: [{ kind: 'ServiceAccount', name: 'mlmon-remediator', namespace: 'mlmon' }], roleRef: { kind: 'Role', name: 'mlmon-remediator-scale' } });
  });
});
