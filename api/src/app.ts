import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { REQUEST_ID_MAX_LENGTH } from '@mlmon/contract';
import { ApiError, asApiError, errorClass, logRejection } from './errors.js';
import { declaredBodyLimit } from './middleware/body-limit.js';
import type { Deps } from './deps.js';
import { feedbackRoutes } from './routes/feedback.js';
import { healthRoutes } from './routes/health.js';
import { adminRoutes, modelRoutes } from './routes/models.js';
import { predictRoutes } from './routes/predict.js';

/**
 * The replica's HTTP surface. Middleware order matters: the request id and
 * replica headers come first so that every answer, errors included, carries
 * them; the in-flight count wraps everything after it.
 */
export function createApp(deps: Deps) {
  const { config, log, state } = deps;
  const app = new Hono();

  // nginx sends X-Request-ID, filtered by the same rule (REQUEST_ID_PATTERN); without one (a direct call) a fresh id is generated.
  app.use(requestId({ headerName: 'X-Request-ID', limitLength: REQUEST_ID_MAX_LENGTH }));
  app.use(async (c, next) => {
    c.header('X-Replica-Id', config.MLMON_API_REPLICA_ID);
    state.inFlight += 1;
    try {
      await next();
    } finally {
      state.inFlight -= 1;
    }
  });
  app.use(
    declaredBodyLimit({
      maxSize: config.MLMON_API_BODY_LIMIT_BYTES,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `body exceeds ${config.MLMON_API_BODY_LIMIT_BYTES} bytes`);
      },
    }),
  );

  app.route('/', healthRoutes(deps));
  app.route('/v1', predictRoutes(deps));
  app.route('/v1', feedbackRoutes(deps));
  app.route('/v1', modelRoutes(deps));
  app.route('/admin', adminRoutes(deps));

  app.notFound(() => {
    throw new ApiError(404, 'not_found', 'no such endpoint');
  });

  app.onError((error, c) => {
    const err = asApiError(error);
    if (err) {
      logRejection(log, c, err, error);
      return c.json(err.toBody(), err.status);
    }
    void log.write('mlmon.app', 'error', `failed ${c.req.method} ${c.req.path}: ${error.message}`, {
      http: { request: { id: c.get('requestId') } },
      error: { code: 'internal_error', message: error.message, type: errorClass(error), ...(error.stack ? { stack_trace: error.stack } : {}) },
    });
    return c.json({ error: { code: 'internal_error', message: 'internal error; see the replica log' } }, 500);
  });

  return app;
}
