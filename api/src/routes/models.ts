import { Hono, type MiddlewareHandler } from 'hono';
import { bearerMatches } from '@mlmon/runtime';
import { ApiError } from '../errors.js';
import type { Deps } from '../deps.js';
import { readJson } from './read-json.js';

export function modelRoutes({ registry }: Deps) {
  return new Hono().get('/models', (c) =>
    c.json({
      name: registry.modelName,
      versions: registry.versions().map((m) => ({
        version: m.card.version,
        algorithm: m.card.algorithm,
        features: m.card.feature_names.length,
        holdout_metrics: m.card.holdout_metrics,
      })),
      ...registry.serving(),
      // What a rollback of the active version would go back to (null: nothing good is left).
      rollback_to: registry.previousGood() ?? null,
    }),
  );
}

function bearer(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!token) throw new ApiError(403, 'admin_disabled', 'admin endpoints are disabled: set MLMON_API_ADMIN_TOKEN to enable them');
    if (!bearerMatches(c.req.header('authorization'), token)) {
      throw new ApiError(401, 'unauthorized', 'missing or wrong bearer token');
    }
    await next();
  };
}

async function versionOf(c: Parameters<MiddlewareHandler>[0]): Promise<{ version: string; body: Record<string, unknown> }> {
  const body = await readJson(c);
  const version = (body as { version?: unknown } | null)?.version;
  if (typeof version !== 'string' || version === '') throw new ApiError(400, 'invalid_version', '"version" must be a model version', 'version');
  return { version, body: body as Record<string, unknown> };
}

export function adminRoutes({ config, registry, log }: Deps) {
  const audit = (message: string) => log.write('mlmon.app', 'info', message, {});
  return new Hono()
    .use(bearer(config.MLMON_API_ADMIN_TOKEN))
    .put('/models/active', async (c) => {
      const { version } = await versionOf(c);
      const state = await registry.setActive(version);
      void audit(`active model set to ${version}`);
      return c.json(state);
    })
    .post('/models/rollback', async (c) => {
      // The version the caller saw misbehave: a second rollback for the same alert then refuses instead of stepping back twice.
      const { version } = await versionOf(c);
      const state = await registry.rollback(version);
      void audit(`rolled back: active model ${version} replaced by ${state.active}`);
      return c.json(state);
    })
    .put('/models/canary', async (c) => {
      const { version, body } = await versionOf(c);
      const weight = body.weight;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
        throw new ApiError(400, 'invalid_weight', '"weight" must be a number from 0 to 100 (0 removes the canary)', 'weight');
      }
      const state = await registry.setCanary(version, weight);
      void audit(weight > 0 ? `canary set to ${version} at ${weight}%` : 'canary removed');
      return c.json(state);
    });
}
