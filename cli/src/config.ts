import { z } from 'zod';
import { DEFAULT_RUN_DIR } from '@mlmon/contract';
import { positiveInt, secretToken, setting } from '@mlmon/runtime';

/** What `mlmon up` and the stack it supervises read from the environment (beyond each service's own settings). */
export const stackConfigShape = {
  MLMON_RUN_DIR: setting(z.string().default(DEFAULT_RUN_DIR), {
    description: 'Where everything `mlmon up` starts keeps its state and logs (git-ignored); moved for tests.',
    shownDefault: '<repo>/run',
  }),
  MLMON_API_ADMIN_TOKEN: setting(secretToken.optional(), {
    description:
      "The stack's admin token: the replicas' /admin, the supervisor's control API and, unless MLMON_REMEDIATOR_TOKEN is set, the remediator's webhooks. Unset: a random one, written to stack.json.",
    secret: true,
    aliases: ['ADMIN_TOKEN'],
  }),
  MLMON_REMEDIATOR_TOKEN: setting(secretToken.optional(), {
    description: "The remediator's webhook token in the local stack; unset: the admin token.",
    secret: true,
    aliases: ['REMEDIATOR_TOKEN'],
  }),
  MLMON_REMEDIATOR_MAX_REPLICAS: setting(positiveInt.optional(), {
    description: 'The most replicas the remediator may scale the local stack to; never above `mlmon up --max-replicas`.',
    aliases: ['REMEDIATOR_MAX_REPLICAS'],
  }),
};

/** What `mlmon alerts` talks to. */
export const alertsConfigShape = {
  MLMON_ALERTMANAGER_URL: setting(z.url().default('http://127.0.0.1:9093'), {
    description: "Prometheus Alertmanager for `mlmon alerts` (the one `mlmon up` starts listens on 127.0.0.1:9093, or `--alertmanager-port`).",
  }),
};

/** Where Kibana is: read only by `kibana import` (docker-compose's setup job sets these). */
export const kibanaConfigShape = {
  MLMON_KIBANA_URL: setting(z.url(), { description: 'Kibana, e.g. http://kibana:5601.', aliases: ['KIBANA_URL'] }),
  MLMON_KIBANA_USERNAME: setting(z.string().optional(), { description: 'Basic-auth user for Kibana.', aliases: ['KIBANA_USERNAME'] }),
  MLMON_KIBANA_PASSWORD: setting(z.string().optional(), { description: 'Its password.', secret: true, aliases: ['KIBANA_PASSWORD'] }),
  MLMON_KIBANA_API_KEY: setting(z.string().optional(), { description: 'A Kibana API key, used instead of the user and password.', secret: true, aliases: ['KIBANA_API_KEY'] }),
  MLMON_KIBANA_SPACE: setting(z.string().optional(), { description: 'The Kibana space to import into; unset: the default space.', aliases: ['KIBANA_SPACE'] }),
};

const password = (user: string, aliases: string[] = []) =>
  setting(z.string().min(12, 'must be at least 12 characters').optional(), {
    description: `Password \`setup --security\` gives ${user}; unset: that user is not made.`,
    secret: true,
    aliases,
  });

/** Passwords the setup job (`mlmon setup --security`) gives each service's user. */
export const setupSecurityConfigShape = {
  MLMON_SHIPPER_PASSWORD: password("the shipper's user (<prefix>-shipper)"),
  MLMON_ANALYZER_PASSWORD: password("the analyzer's user (<prefix>-analyzer)"),
  MLMON_RULES_PASSWORD: password("the rule runner's user (<prefix>-rules)"),
  MLMON_READER_PASSWORD: password('the read-only user (<prefix>-reader) the CLI and dashboards can use'),
  MLMON_KIBANA_SYSTEM_PASSWORD: password("Kibana's own built-in kibana_system user", ['KIBANA_SYSTEM_PASSWORD']),
};
