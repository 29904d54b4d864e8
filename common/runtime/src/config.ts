import { z } from 'zod';

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

/**
 * Reads configuration from the environment: each service declares the
 * variables it uses with their defaults as a zod shape, so a typo such as
 * `ES_PORT=92OO` stops the service at start with the variable named, instead
 * of surfacing later as a connection error.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<S>> {
  // An empty variable means "not set", as in a shell where `FOO= cmd` clears it.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = z.object(shape).safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0]);
  const got = present[variable];
  throw new ConfigError(variable, `${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
}

export const portNumber = z.coerce.number().int().min(1).max(65535);

/** A yes/no variable: true/false, 1/0, on/off, yes/no. */
export const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => ['true', '1', 'on', 'yes'].includes(v));

/** Variables every service that talks to Elasticsearch understands. */
export const esConfigShape = {
  /** An existing cluster to use instead of the local one, e.g. https://es.example:9200. */
  ES_URL: z.url().optional(),
  /** Port of the local cluster that `npm run es:start` runs. */
  ES_PORT: portNumber.default(9200),
  ES_USERNAME: z.string().optional(),
  ES_PASSWORD: z.string().optional(),
  ES_API_KEY: z.string().optional(),
  /** Every index, template and component template name starts with this, so several deployments can share a cluster. */
  MLMON_INDEX_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "-" or "_", starting with a letter or digit')
    .default('mlmon'),
};

export type EsConfig = z.infer<z.ZodObject<typeof esConfigShape>>;

export function loadEsConfig(env?: Record<string, string | undefined>): EsConfig {
  return loadConfig(esConfigShape, env);
}

type EnvValue = string | number | boolean;

/**
 * The environment that configures a child service, keyed by that service's
 * own config shape: a renamed or misspelt variable fails the build of the
 * caller instead of being silently ignored by the child, and a bad value is
 * refused here, naming the variable, before the child is started.
 */
export function serviceEnv<S extends z.ZodRawShape>(shape: S, values: { [K in keyof S]?: EnvValue }): Record<string, string> {
  const env = Object.fromEntries(
    Object.entries(values)
      .filter((e): e is [string, EnvValue] => e[1] !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  loadConfig(Object.fromEntries(Object.keys(env).map((k) => [k, shape[k]!])), env);
  return env;
}
