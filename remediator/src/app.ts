import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { basicMatches, bearerMatches, type EventLog } from '@mlmon/runtime';
import type { RemediatorConfig } from './config.js';
import { HOOKS, isHook, payloadSchema } from './payload.js';
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
  const refuse = (c: Context, err: RequestRefused) => {
    const { code, message, field } = err;
    void log.write('mlmon.app', 'warn', `rejected ${c.req.method} ${c.req.path} from ${remoteAddress(c)}: ${message}`, {
      error: { code, message, type: errorClass(err) },
      ...(field ? { mlmon: { app: { field } } } : {}),
    });
    return c.json({ error: { code, message, ...(field ? { field } : {}) } }, err.status);
  };
  const authorized = (header: string | undefined) =>
    (config.MLMON_REMEDIATOR_TOKEN !== undefined && bearerMatches(header, config.MLMON_REMEDIATOR_TOKEN)) ||
    (config.MLMON_REMEDIATOR_BASIC_USER !== undefined && config.MLMON_REMEDIATOR_BASIC_PASSWORD !== undefined && basicMatches(header, config.MLMON_REMEDIATOR_BASIC_USER, config.MLMON_REMEDIATOR_BASIC_PASSWORD));

  return new Hono()
    .get('/healthz', (c) => c.json({ ok: true, dry_run: config.MLMON_REMEDIATOR_DRY_RUN }))
    .use('/v1/*', async (c, next) => {
      if (!authorized(c.req.header('authorization'))) {
        c.header('WWW-Authenticate', config.MLMON_REMEDIATOR_TOKEN ? 'Bearer' : 'Basic realm="mlmon-remediator"');
        return refuse(c, new RequestRefused(401, 'unauthorized', 'a valid bearer token or basic credentials are required'));
      }
      await next();
    })
    .use('/v1/*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => refuse(c, new RequestRefused(413, 'payload_too_large', 'body exceeds 65536 bytes')) }))
    .get('/v1/actions', (c) => {
      const limit = Number(c.req.query('limit') ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) return refuse(c, new RequestRefused(400, 'invalid_limit', '"limit" must be an integer from 1 to 200', 'limit'));
      return c.json({ dry_run: config.MLMON_REMEDIATOR_DRY_RUN, actions: remediator.recent(limit) });
    })
    .post('/v1/hooks/:hook', async (c) => {
      const hook = c.req.param('hook');
      if (!isHook(hook)) return refuse(c, new RequestRefused(404, 'unknown_action', `no webhook "${hook}"; known: ${Object.keys(HOOKS).join(', ')}`, 'action'));
      let body: unknown;
      try {
        body = await c.req.json();
      } catch (err) {
        return refuse(c, new RequestRefused(400, 'invalid_json', 'the body is not JSON', undefined, { cause: err }));
      }
      const parsed = payloadSchema(hook).safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path.join('.') || 'body';
        return refuse(c, new RequestRefused(400, 'invalid_payload', `${field}: ${issue.message}`, field, { cause: parsed.error }));
      }
      const decision = await remediator.handle(HOOKS[hook], parsed.data);
      return c.json(decision, STATUS[decision.decision]);
    });
}
