import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { requireCredentials, type EventLog } from '@mlmon/runtime';
import { ApiError, logRejection } from '../errors.js';
import type { Deps } from '../deps.js';
import { validJson } from './read-json.js';

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

function adminAuth(token: string | undefined, log: EventLog): MiddlewareHandler {
  if (!token) {
    return () => {
      throw new ApiError(403, 'admin_disabled', 'admin endpoints are disabled: set MLMON_API_ADMIN_TOKEN to enable them');
    };
  }
  return requireCredentials({
    token,
    realm: 'mlmon-admin',
    message: 'missing or wrong bearer token',
    onRefused: (c, message) => logRejection(log, c, new ApiError(401, 'unauthorized', message)),
  });
}

const VERSION = '"version" must be a model version';
const WEIGHT = '"weight" must be a number from 0 to 100 (0 removes the canary)';
const versionBody = z.object({ version: z.string({ error: VERSION }).min(1, { error: VERSION }) });
const canaryBody = versionBody.extend({ weight: z.number({ error: WEIGHT }).min(0, { error: WEIGHT }).max(100, { error: WEIGHT }) });
// A body that is not an object has no version: refused as one without it always was.
const noVersion = { code: 'invalid_version', message: VERSION, field: 'version' };
const versionJson = validJson(versionBody, { version: 'invalid_version' }, noVersion);
const canaryJson = validJson(canaryBody, { version: 'invalid_version', weight: 'invalid_weight' }, noVersion);
const SAMPLE = '"sample" must be a number from 0 to 1: the share of requests copied to the shadow (0 removes it)';
const shadowBody = versionBody.extend({ sample: z.number({ error: SAMPLE }).min(0, { error: SAMPLE }).max(1, { error: SAMPLE }).default(1) });
const shadowJson = validJson(shadowBody, { version: 'invalid_version', sample: 'invalid_sample' }, noVersion);
const PROMOTE_WEIGHT = '"weight" must be a number above 0 and at most 100: the canary\'s share of requests';
const promoteBody = versionBody.extend({ weight: z.number({ error: PROMOTE_WEIGHT }).gt(0, { error: PROMOTE_WEIGHT }).max(100, { error: PROMOTE_WEIGHT }) });
const promoteJson = validJson(promoteBody, { version: 'invalid_version', weight: 'invalid_weight' }, noVersion);

export function adminRoutes({ config, registry, log }: Deps) {
  const audit = (message: string) => log.write('mlmon.app', 'info', message, {});
  return new Hono()
    .use(adminAuth(config.MLMON_API_ADMIN_TOKEN, log))
    .put('/models/active', versionJson, async (c) => {
      const { version } = c.req.valid('json');
      const state = await registry.setActive(version);
      void audit(`active model set to ${version}`);
      return c.json(state);
    })
    .post('/models/rollback', versionJson, async (c) => {
      // The version the caller saw misbehave: a second rollback for the same alert then refuses instead of stepping back twice.
      const { version } = c.req.valid('json');
      const state = await registry.rollback(version);
      void audit(`rolled back: active model ${version} replaced by ${state.active}`);
      return c.json(state);
    })
    .put('/models/canary', canaryJson, async (c) => {
      const { version, weight } = c.req.valid('json');
      const state = await registry.setCanary(version, weight);
      void audit(weight > 0 ? `canary set to ${version} at ${weight}%` : 'canary removed');
      return c.json(state);
    })
    .put('/models/shadow', shadowJson, async (c) => {
      const { version, sample } = c.req.valid('json');
      const state = await registry.setShadow(version, sample);
      void audit(sample > 0 ? `shadow set to ${version} for ${sample * 100}% of requests` : 'shadow removed');
      return c.json(state);
    })
    .delete('/models/shadow', async (c) => {
      const state = await registry.removeShadow();
      void audit('shadow removed');
      return c.json(state);
    })
    .post('/models/shadow/promote', promoteJson, async (c) => {
      // The shadow the caller judged better: if another change replaced it since, nothing is promoted.
      const { version, weight } = c.req.valid('json');
      const state = await registry.promoteShadow(version, weight);
      void audit(`shadow ${version} promoted to canary at ${weight}%`);
      return c.json(state);
    });
}
