import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { analyzerConfigShape } from '@mlmon/analyzer/config';
import { apiConfigShape } from '@mlmon/api/config';
import { shipperConfigShape } from '@mlmon/log-shipper/config';
import { remediatorConfigShape } from '@mlmon/remediator/config';
import { loadConfig } from '@mlmon/runtime';

/**
 * k8s/, checked with typed models of the Kubernetes API (the kubernetes-models
 * package, which validates against the API's OpenAPI schemas) and by
 * following every reference between the objects. No cluster runs here.
 */
const dir = new URL('../../k8s/', import.meta.url);
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
const objects: Array<Obj & { file: string }> = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((d) => ({ ...(d.toJS() as Obj), file })));
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const ofKind = <T = Obj>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};
// ECK's custom resources have no published typed models here: the fields mlmon uses, by zod.
const ECK: Record<string, z.ZodType> = {
  'elasticsearch.k8s.elastic.co/v1/Elasticsearch': z.object({
    spec: z.object({ version: z.string().regex(/^8\.\d+\.\d+$/), nodeSets: z.array(z.object({ name: z.string(), count: z.number().int().positive() })).min(1) }),
  }),
  'kibana.k8s.elastic.co/v1/Kibana': z.object({ spec: z.object({ version: z.string(), count: z.number().int().positive(), elasticsearchRef: z.object({ name: z.string() }) }) }),
};

type Container = {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ configMapRef: { name: string } }>;
  ports?: Array<{ name: string }>;
};
type PodDeployment = Obj & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; serviceAccountName?: string; volumes?: Array<{ name: string; secret?: { secretName: string } }> } } } };
const SHAPES: Record<string, Record<string, z.ZodType>> = {
  'mlmon/api': apiConfigShape,
  'mlmon/log-shipper': shipperConfigShape,
  'mlmon/analyzer': analyzerConfigShape,
  'mlmon/remediator': remediatorConfigShape,
};

/** What a container's environment holds: the ConfigMap's entries, and its own, secrets standing in as any valid value (the operator fills them). */
function containerEnv(c: Container): { shared: Record<string, string>; own: Record<string, string> } {
  const configMap = find('ConfigMap', 'mlmon-config') as unknown as Obj & { data: Record<string, string> };
  return {
    shared: c.envFrom ? configMap.data : {},
    own: Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? 'a-secret-value-0123456789abcdef0123456789'])),
  };
}

describe('k8s/ manifests (typed models of the Kubernetes API; no cluster runs here)', () => {
  it('are each valid for their API schema, in the mlmon namespace', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) {
      const key = `${o.apiVersion}/${o.kind}`;
      const label = `${o.file}: ${key} ${o.metadata.name}`;
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, label).toBe('mlmon');
      if (MODELS[key]) expect(() => new MODELS[key]!(o as never).validate(), label).not.toThrow();
      else if (ECK[key]) expect(ECK[key]!.safeParse(o).success, label).toBe(true);
      else throw new Error(`${label}: a kind this test does not know how to check`);
    }
    // The models do refuse a bad object, so the check above can fail.
    expect(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'x' }] }] } } } } as never).validate()).toThrow();
  });

  it('the api: a Deployment behind a Service, scaled by an HPA, with the shipper as a sidecar on a shared log volume', () => {
    const api = find('Deployment', 'mlmon-api') as unknown as PodDeployment;
    const pod = api.spec.template;
    expect(api.spec.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/name': 'mlmon-api' }));
    for (const [k, v] of Object.entries(api.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
    const service = find('Service', 'mlmon-api') as unknown as Obj & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } };
    for (const [k, v] of Object.entries(service.spec.selector)) expect(pod.metadata.labels[k]).toBe(v);
    const apiContainer = pod.spec.containers.find((c) => c.image.startsWith('mlmon/api'))!;
    for (const p of service.spec.ports) expect(apiContainer.ports!.map((x) => x.name)).toContain(p.targetPort);
    const hpa = find('HorizontalPodAutoscaler', 'mlmon-api') as unknown as Obj & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } };
    expect(find(hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name)).toBe(api);
    expect(hpa.spec.minReplicas).toBeLessThan(hpa.spec.maxReplicas);
    const shipper = pod.spec.containers.find((c) => c.image.startsWith('mlmon/log-shipper'))!;
    const mounts = (c: Container) => (c as unknown as { volumeMounts: Array<{ name: string; mountPath: string }> }).volumeMounts;
    const apiLogs = mounts(apiContainer).find((m) => m.name === 'logs')!;
    expect(mounts(shipper).find((m) => m.name === 'logs')!.mountPath).toBe(apiLogs.mountPath);
  });

  it('the remediator may scale mlmon-api and do nothing else, as a ServiceAccount the Deployment runs as', () => {
    const remediator = find('Deployment', 'mlmon-remediator') as unknown as PodDeployment;
    const account = remediator.spec.template.spec.serviceAccountName!;
    expect(find('ServiceAccount', account)).toMatchObject({ kind: 'ServiceAccount', metadata: { name: account } });
    const binding = ofKind<Obj & { subjects: Array<{ kind: string; name: string }>; roleRef: { kind: string; name: string } }>('RoleBinding').find((b) => b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account))!;
    const role = find(binding.roleRef.kind, binding.roleRef.name) as unknown as Obj & { rules: Array<{ resources: string[]; verbs: string[]; resourceNames?: string[] }> };
    expect(role.rules).toEqual([expect.objectContaining({ resources: ['deployments/scale'], resourceNames: ['mlmon-api'] })]);
    expect(role.rules[0]!.verbs.every((v) => ['get', 'patch', 'update'].includes(v))).toBe(true);
    const config = loadConfig(remediatorConfigShape, { MLMON_REMEDIATOR_TOKEN: 'x'.repeat(32) });
    expect(config.MLMON_REMEDIATOR_K8S_DEPLOYMENT).toBe('mlmon-api');
  });

  it('leaves the replica count to the HPA: the remediator of a Deployment an HPA scales refuses scale alerts (scale owner external)', () => {
    const remediators = ofKind<PodDeployment>('Deployment')
      .flatMap((d) => d.spec.template.spec.containers.filter((c) => c.image.startsWith('mlmon/remediator')))
      .map((c) => {
        const { shared, own } = containerEnv(c);
        return loadConfig(remediatorConfigShape, { ...shared, ...own });
      })
      .filter((r) => r.MLMON_REMEDIATOR_BACKEND === 'kubernetes');
    const hpas = ofKind<Obj & { spec: { scaleTargetRef: { kind: string; name: string } } }>('HorizontalPodAutoscaler');
    const contested = hpas.flatMap((hpa) =>
      remediators.filter((r) => hpa.spec.scaleTargetRef.kind === 'Deployment' && r.MLMON_REMEDIATOR_K8S_NAMESPACE === hpa.metadata.namespace && r.MLMON_REMEDIATOR_K8S_DEPLOYMENT === hpa.spec.scaleTargetRef.name),
    );
    // k8s/ has both: mlmon-api's HPA and a remediator pointed at mlmon-api.
    expect(contested.length).toBeGreaterThan(0);
    for (const r of contested) expect(r.MLMON_REMEDIATOR_SCALE_OWNER, `the HPA and the remediator both scale ${r.MLMON_REMEDIATOR_K8S_DEPLOYMENT}`).toBe('external');
  });

  it('gives every mlmon container only variables it reads and every one it needs, and resolves every reference', () => {
    const configMap = find('ConfigMap', 'mlmon-config') as unknown as Obj & { data: Record<string, string> };
    // mlmon-secrets is not a manifest (no secret is committed): config.yaml's comment gives the command that makes it.
    const secretKeys = new Map([['mlmon-secrets', [...readFileSync(new URL('config.yaml', dir), 'utf8').matchAll(/--from-literal=([A-Z0-9_]+)=/g)].map((m) => m[1]!)]]);
    for (const d of ofKind<PodDeployment>('Deployment')) {
      // Alertmanager is not an mlmon image: its own test below.
      for (const c of d.spec.template.spec.containers.filter((x) => x.image.startsWith('mlmon/'))) {
        expect(Object.keys(SHAPES), `${d.metadata.name}/${c.name}: an image this test knows`).toContain(c.image.split(':')[0]);
        const shape = SHAPES[c.image.split(':')[0]!]!;
        for (const ref of c.envFrom ?? []) expect(find('ConfigMap', ref.configMapRef.name)).toMatchObject({ kind: 'ConfigMap', metadata: { name: ref.configMapRef.name } });
        const { shared: fromConfigMap, own } = containerEnv(c);
        const env = { ...fromConfigMap, ...own };
        // The Secret is made by hand from the list in config.yaml: every key a container reads is on it.
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(secretKeys.get(ref.name), `${d.metadata.name}/${c.name} reads ${ref.name}.${ref.key}`).toContain(ref.key);
        }
        const unknown = Object.keys(own).filter((k) => !(k in shape) && k !== 'NODE_EXTRA_CA_CERTS');
        expect(unknown, `${d.metadata.name}/${c.name} is given variables it does not read`).toEqual([]);
        const sharedUnknown = Object.keys(fromConfigMap).filter((k) => !(k in shape));
        expect(sharedUnknown, `${d.metadata.name}/${c.name}`).toEqual([]);
        expect(() => loadConfig(shape, env), `${d.metadata.name}/${c.name}`).not.toThrow();
      }
      for (const v of d.spec.template.spec.volumes ?? []) if (v.secret) expect(v.secret.secretName).toMatch(/^(mlmon-es-http-certs-public|mlmon-alertmanager-secrets)$/);
    }
    const kibana = find('Kibana', 'mlmon') as unknown as Obj & { spec: { elasticsearchRef: { name: string } } };
    expect(find('Elasticsearch', kibana.spec.elasticsearchRef.name)).toMatchObject({ kind: 'Elasticsearch', metadata: { name: kibana.spec.elasticsearchRef.name } });
    // ECK names the HTTP service of Elasticsearch `mlmon` mlmon-es-http: the URL every pod uses.
    expect(configMap.data.MLMON_ES_URL).toBe('https://mlmon-es-http.mlmon.svc:9200');
  });

  it('Alertmanager: the release the local stack runs, its config the committed alertmanager.yml made into the ConfigMap it mounts, behind a Service', () => {
    const am = find('Deployment', 'mlmon-alertmanager') as unknown as PodDeployment;
    const [c] = am.spec.template.spec.containers as Array<Container & { args: string[]; volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }> }>;
    // Debian's prometheus-alertmanager is 0.25.0 (scripts/ensure-alertmanager.sh builds the same tag).
    expect(c!.image).toBe('prom/alertmanager:v0.25.0');
    expect(readFileSync(new URL('../../scripts/ensure-alertmanager.sh', import.meta.url), 'utf8')).toContain('VERSION=0.25.0');
    const flag = (name: string) => c!.args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    expect(flag('cluster.listen-address')).toBe('');
    const mount = c!.volumeMounts.find((m) => m.mountPath === flag('config.file'))!;
    const volume = (am.spec.template.spec.volumes as Array<{ name: string; configMap?: { name: string } }>).find((v) => v.name === mount.name)!;
    // The ConfigMap is made from the committed file by the command in the manifest's header, under the key mounted.
    const header = readFileSync(new URL('alertmanager.yaml', dir), 'utf8');
    expect(header).toContain(`kubectl -n mlmon create configmap ${volume.configMap!.name} --from-file=${mount.subPath}=alertmanager/alertmanager.yml`);
    // The receivers' *_file secrets resolve beside the config file, where the Secret is mounted.
    const secrets = c!.volumeMounts.find((m) => m.name === 'secrets')!;
    expect(secrets.mountPath).toBe(`${flag('config.file')!.replace(/\/[^/]+$/, '')}/secrets`);
    expect(readFileSync(new URL('../../alertmanager/alertmanager.yml', import.meta.url), 'utf8')).toMatch(/_file: secrets\//);
    const service = find('Service', 'mlmon-alertmanager') as unknown as Obj & { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> } };
    for (const [k, v] of Object.entries(service.spec.selector)) expect(am.spec.template.metadata.labels[k]).toBe(v);
    expect(c!.ports!.map((p) => p.name)).toContain(service.spec.ports[0]!.targetPort);
    // The URL the header gives `rules install` is this Service's.
    expect(header).toContain(`MLMON_ALERTMANAGER_URL=http://${service.metadata.name}.mlmon.svc:${service.spec.ports[0]!.port} mlmon rules install`);
  });
});
