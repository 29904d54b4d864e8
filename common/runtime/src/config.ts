import ms from 'ms';
import { z } from 'zod';
import { DEFAULT_LOG_DIR } from '@mlmon/contract';

/** A configuration variable that is missing or malformed, named so the operator can fix it. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** The units a deprecated name carried in its suffix (`_MS`, `_S`, `_H`, `_DAYS`), which its bare number meant. */
export type DurationUnit = 'ms' | 's' | 'h' | 'd';

/** A name a variable had before; `unit` when that name carried the unit, so `ANALYZER_INTERVAL_S=15` reads as `15s`. */
export type OldName = string | { name: string; unit: DurationUnit };

/** What docs/configuration.md says about a variable, beside its schema. */
export interface SettingMeta {
  description: string;
  /** A password, token or key: never logged, and kept out of committed files. */
  secret?: boolean;
  /** Old names, still read for one release (with a warning) when the variable itself is unset. */
  aliases?: readonly OldName[];
  /** The default as the docs show it, where the real one depends on the machine (a path in the checkout, the host name). */
  shownDefault?: string;
  /** Another tool's own variable (kubectl's KUBECONFIG, Docker's DOCKER_HOST, ...), read under that tool's name. */
  ownedBy?: string;
}

/** The metadata of every setting, keyed by its schema (zod's registries: the schema carries its docs). */
export const settingMeta = z.registry<SettingMeta>();

/**
 * One variable of a service's settings: its zod schema (parsing, default) and
 * what the docs say about it. The schema is cloned so that a shared one
 * (portNumber, booleanFlag, ...) can carry different docs in each setting.
 */
export function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  const copy = schema.clone();
  settingMeta.add(copy as z.ZodType, meta);
  return copy;
}

export function metaOf(schema: z.core.$ZodType): SettingMeta | undefined {
  return settingMeta.get(schema);
}

/** A service's settings: variable name → schema made with `setting()`. */
export type Settings = z.ZodRawShape;

const warned = new Set<string>();

/**
 * Where deprecation notices go unless the caller collects them: stderr, once
 * per process and notice, so a service that reads its settings twice says it
 * once. stderr is where a service's startup errors go too (and what
 * `docker logs` and `kubectl logs` show).
 */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`warning: ${message}\n`);
}

/**
 * Reads configuration from the environment: each service declares the
 * variables it uses with their defaults as a zod shape, so a typo such as
 * `MLMON_ES_PORT=92OO` stops the service at start with the variable named,
 * instead of surfacing later as a connection error. A variable's old name
 * still works for one release: its value is used (converted where the old
 * name carried a unit) and `warn` is told, once per old name; when both are
 * set, the new one wins and `warn` says so.
 */
export function loadConfig<S extends Settings>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
  warn: (message: string) => void = warnOnce,
): z.infer<z.ZodObject<S>> {
  // An empty variable means "not set", as in a shell where `FOO= cmd` clears it.
  const isSet = (name: string) => env[name] !== undefined && env[name] !== '';
  const values: Record<string, string> = {};
  /** Where a value came from when it was an old name: errors name what the operator wrote. */
  const readFrom: Record<string, { name: string; raw: string }> = {};
  for (const [name, schema] of Object.entries(shape)) {
    if (isSet(name)) values[name] = env[name]!;
    const meta = metaOf(schema);
    for (const old of meta?.aliases ?? []) {
      const { name: oldName, unit } = typeof old === 'string' ? { name: old, unit: '' } : old;
      if (!isSet(oldName)) continue;
      const raw = env[oldName]!;
      if (isSet(name)) {
        warn(`${oldName} is deprecated and ${name} is set too: ${name} is used; remove ${oldName}`);
        continue;
      }
      if (readFrom[name]) {
        warn(`${oldName} is deprecated and so is ${readFrom[name].name}, which is used; set ${name} instead of both`);
        continue;
      }
      values[name] = `${raw}${unit}`;
      readFrom[name] = { name: oldName, raw };
      // A secret's value stays out of the notice, which goes to a log.
      warn(`${oldName} is deprecated: its value is used for this release; set ${meta?.secret ? name : `${name}=${values[name]}`} instead`);
    }
  }
  const result = z.object(shape).safeParse(values);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0]);
  const from = readFrom[variable];
  const got = from ? from.raw : values[variable];
  const named = from ? `${from.name} (deprecated name of ${variable})` : variable;
  throw new ConfigError(named, `${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
}

export const portNumber = z.coerce.number().int().min(1).max(65535);

/** A port number, or 0 for any free one (tests); the chosen one is printed. */
export const portOrAny = portNumber.or(z.literal(0).or(z.literal('0')).transform(() => 0));

export const positiveInt = z.coerce.number().int().positive();

/** A bearer token or password a service checks: long enough not to be guessed. */
export const secretToken = z.string().min(16, 'must be at least 16 characters');

/** A yes/no variable: true/false, 1/0, on/off, yes/no. */
export const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => ['true', '1', 'on', 'yes'].includes(v));

/** A comma-separated list; blanks around items and empty items are dropped. */
export const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const DURATION_EXAMPLE = 'a duration with a unit, such as 500ms, 15s, 5m, 1h or 2d';

/** `500ms`, `15s`, `5m`, `1h`, `2d` (or ms's longer forms, `5 minutes`) → milliseconds; undefined when it is not one. */
export function durationMs(value: string): number | undefined {
  // ms reads a bare number as milliseconds; mlmon's durations always say their unit.
  if (/^\s*[\d.]+\s*$/.test(value)) return undefined;
  const n = ms(value as ms.StringValue) as number | undefined;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Every duration mlmon reads: a string with its unit, parsed into
 * milliseconds. Variables that hold one are named without a unit suffix
 * (MLMON_ANALYZER_INTERVAL=15s).
 */
export const duration = z.string().transform((v, ctx) => {
  const n = durationMs(v);
  if (n === undefined) ctx.addIssue({ code: 'custom', message: `must be ${DURATION_EXAMPLE}` });
  return n ?? z.NEVER;
});

/** Milliseconds as mlmon's duration strings say them (`15s`, `2m`, `30d`), for messages. */
export function formatDuration(n: number): string {
  return ms(n);
}

export const positiveDuration = duration.refine((n) => n > 0, 'must be longer than 0');

/** A comma-separated list of durations, each kept with its text (`5m` names the 5-minute window). */
export const durationList = commaList.transform((items, ctx) => {
  const parsed = items.map((name) => ({ name, ms: durationMs(name) ?? 0 }));
  if (parsed.length === 0 || parsed.some((d) => d.ms <= 0)) ctx.addIssue({ code: 'custom', message: `must be a comma-separated list, each ${DURATION_EXAMPLE}` });
  return parsed;
});

/** The settings every service that talks to Elasticsearch reads. */
export const esConfigShape = {
  MLMON_ES_URL: setting(
    commaList.pipe(z.array(z.url()).min(1, 'must name at least one URL')).optional(),
    {
      description:
        'The cluster to use instead of the local one: one URL, or several comma-separated (e.g. https://es1:9200,https://es2:9200), which the client spreads requests over and retries on when one fails.',
      aliases: ['ES_URL'],
    },
  ),
  MLMON_ES_PORT: setting(portNumber.default(9200), {
    description: 'Port of the local cluster (`npm run es:start`, `mlmon up`) when MLMON_ES_URL is unset.',
    aliases: ['ES_PORT'],
  }),
  MLMON_ES_USERNAME: setting(z.string().optional(), { description: 'Basic-auth user for Elasticsearch.', aliases: ['ES_USERNAME'] }),
  MLMON_ES_PASSWORD: setting(z.string().optional(), { description: 'Its password.', secret: true, aliases: ['ES_PASSWORD'] }),
  MLMON_ES_API_KEY: setting(z.string().optional(), { description: 'An Elasticsearch API key (base64), used instead of the user and password.', secret: true, aliases: ['ES_API_KEY'] }),
  MLMON_INDEX_PREFIX: setting(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "-" or "_", starting with a letter or digit')
      .default('mlmon'),
    { description: 'Every index, template and role name starts with this, so several deployments can share a cluster.' },
  ),
};

export type EsConfig = z.infer<z.ZodObject<typeof esConfigShape>>;

export function loadEsConfig(env?: Record<string, string | undefined>): EsConfig {
  return loadConfig(esConfigShape, env);
}

/**
 * MLMON_LOG_DIR, for a service that writes ECS lines there for the shipper;
 * `what` says what it writes, `aliases` the names this service read it under before.
 */
export function logDirSetting(what: string, aliases: readonly OldName[] = ['LOG_DIR']) {
  return setting(z.string().default(DEFAULT_LOG_DIR), { description: `Where ${what} (the folder the log shipper tails).`, aliases, shownDefault: '<repo>/run/logs' });
}

/** MLMON_LOG_STDOUT: every ECS line on stdout too (a container whose platform collects stdout). */
export function logStdoutSetting(aliases: readonly OldName[] = ['LOG_STDOUT']) {
  return setting(booleanFlag.default(false), { description: 'Also write every ECS line to stdout.', aliases });
}

type EnvValue = string | number | boolean;

/**
 * The environment that configures a child service, keyed by that service's
 * own config shape: a renamed or misspelt variable fails the build of the
 * caller instead of being silently ignored by the child, and a bad value is
 * refused here, naming the variable, before the child is started.
 */
export function serviceEnv<S extends Settings>(shape: S, values: { [K in keyof S]?: EnvValue }): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(values)
      .filter((e): e is [string, EnvValue] => e[1] !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  loadConfig(Object.fromEntries(Object.keys(env).map((k) => [k, shape[k]!])), env);
  return env;
}
