import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { jsonBody, requireCredentials, type EventLog } from '@mlmon/runtime';
import type { RemediatorConfig } from './config.js';
import { HOOKS, payloadSchema, type Action, type Hook } from './payload.js';
import type { Decision, Remediator } from './remediator.js';

const STATUS: Record<Decision['decision'], ContentfulStatusCode> = {
  executed: 200,
  dry_run: 200,
  duplicate: 200,
  skipped_cooldown: 200,
  refused: 200,
  started: 202,
  finished: 200,
  registered: 200,
  // The caller (Watcher, the rule runner) records a non-2xx as a failed action.
  failed: 502,
};

/** A request turned away by this service's rules; `cause` is what was wrong underneath (the JSON or zod error). */
class RequestRefused extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RequestRefused';
  }
}

/** ECS `error.type`, as the api writes it: the class of what was wrong (ZodError, SyntaxError), else RequestRefused. */
const errorClass = (err: RequestRefused) => {
  const e = err.cause instanceof Error ? err.cause : err;
  return e.constructor.name || e.name;
};

function remoteAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

export function createApp(opts: { config: RemediatorConfig; remediator: Remediator; log: EventLog }) {
  const { config, remediator, log } = opts;
  /** The refusal's log line, with the caller's address, the field at fault and the class of what was wrong. */
  const record = (c: Context, err: RequestRefused) => {
    const { code, message, field } = err;
    void log.write('mlmon.app', 'warn', `rejected ${c.req.method} ${c.req.path} from ${remoteAddress(c)}: ${message}`, {
      error: { code, message, type: errorClass(err) },
      ...(field ? { mlmon: { app: { field } } } : {}),
    });
  };
  const refuse = (c: Context, err: RequestRefused) => {
    record(c, err);
    const { code, message, field } = err;
    return c.json({ error: { code, message, ...(field ? { field } : {}) } }, err.status);
  };
  const hooks = Object.entries(HOOKS) as Array<[Hook, Action]>;

  const app = new Hono()
    .get('/healthz', (c) => c.json({ ok: true, dry_run: config.MLMON_REMEDIATOR_DRY_RUN }))
    .use(
      '/v1/*',
      requireCredentials({
        ...(config.MLMON_REMEDIATOR_TOKEN !== undefined ? { token: config.MLMON_REMEDIATOR_TOKEN } : {}),
        ...(config.MLMON_REMEDIATOR_BASIC_USER !== undefined && config.MLMON_REMEDIATOR_BASIC_PASSWORD !== undefined
          ? { basic: { username: config.MLMON_REMEDIATOR_BASIC_USER, password: config.MLMON_REMEDIATOR_BASIC_PASSWORD } }
          : {}),
        realm: 'mlmon-remediator',
        message: 'a valid bearer token or basic credentials are required',
        onRefused: (c, message) => record(c, new RequestRefused(401, 'unauthorized', message)),
      }),
    )
    .use('/v1/*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => refuse(c, new RequestRefused(413, 'payload_too_large', 'body exceeds 65536 bytes')) }))
    .get('/v1/actions', (c) => {
      const limit = Number(c.req.query('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) return refuse(c, new RequestRefused(400, 'invalid_limit', '"limit" must be an integer from 1 to 200', 'limit'));
      return c.json({ dry_run: config.MLMON_REMEDIATOR_DRY_RUN, actions: remediator.recent(limit) });
    });
  // A route per webhook, each with its payload's schema (rollback and restart-replica need a target).
  for (const [hook, action] of hooks) {
    app.post(
      `/v1/hooks/${hook}`,
      jsonBody(payloadSchema(hook), {
        malformed: () => ({ code: 'invalid_json', message: 'the body is not JSON' }),
        invalid: ([issue]) => {
          const field = issue!.path.join('.') || 'body';
          return { code: 'invalid_payload', message: `${field}: ${issue!.message}`, field };
        },
        refuse: (c, r) => refuse(c, new RequestRefused(400, r.code, r.message, r.field, { cause: r.cause })),
      }),
      async (c) => {
        const decision = await remediator.handle(action, c.req.valid('json'));
        return c.json(decision, STATUS[decision.decision]);
      },
    );
  }
  return app.post('/v1/hooks/:hook', (c) =>
    refuse(c, new RequestRefused(404, 'unknown_action', `no webhook "${c.req.param('hook')}"; known: ${Object.keys(HOOKS).join(', ')}`, 'action')),
  );
}
