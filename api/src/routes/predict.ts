import { Hono } from 'hono';
import { ApiError } from '../errors.js';
import type { Deps } from '../deps.js';
import type { LoadedModel } from '../models/registry.js';
import { predictionId } from './prediction-id.js';
import { readJson } from './read-json.js';

interface PredictRequest {
  rows: unknown[];
  /** Where each row sits in the request, for error messages: "features" or "instances[3]". */
  base: (i: number) => string;
  single: boolean;
  pinned: string | undefined;
  context: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function parseRequest(body: unknown, maxBatch: number): PredictRequest {
  if (!isObject(body)) throw new ApiError(400, 'invalid_body', 'body must be a JSON object with "features" or "instances"');
  const { features, instances, model_version, context, ...rest } = body;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ApiError(400, 'unknown_field', `unknown field "${extra}"`, extra);
  if (model_version !== undefined && (typeof model_version !== 'string' || model_version === '')) {
    throw new ApiError(400, 'invalid_model_version', 'model_version must be a non-empty string', 'model_version');
  }
  const pinned = model_version as string | undefined;
  if (features !== undefined && instances !== undefined) {
    throw new ApiError(400, 'invalid_body', 'send either "features" (one instance) or "instances" (a batch), not both');
  }
  if (features !== undefined) return { rows: [features], base: () => 'features', single: true, pinned, context };
  if (instances === undefined) throw new ApiError(400, 'missing_features', 'body needs "features" or "instances"', 'features');
  if (!Array.isArray(instances)) throw new ApiError(400, 'invalid_body', '"instances" must be an array', 'instances');
  if (instances.length === 0) throw new ApiError(400, 'empty_batch', '"instances" is empty', 'instances');
  if (instances.length > maxBatch) {
    throw new ApiError(400, 'batch_too_large', `a batch holds at most ${maxBatch} instances, got ${instances.length}`, 'instances');
  }
  return { rows: instances, base: (i) => `instances[${i}]`, single: false, pinned, context };
}

function checkRow(model: LoadedModel, row: unknown, where: string): Record<string, number> {
  if (!isObject(row)) throw new ApiError(400, 'invalid_instance', `${where} must be an object of feature values`, where);
  const result = model.inputSchema.safeParse(row);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    throw new ApiError(400, 'unknown_feature', `"${key}" is not a feature of ${model.card.name} ${model.card.version}`, `${where}.${key}`);
  }
  // Every other issue is a feature that is missing or not a finite number (JSON's 1e999 parses to Infinity).
  const name = String(issue.path[0]);
  const field = `${where}.${name}`;
  if (!Object.hasOwn(row, name)) throw new ApiError(400, 'missing_feature', `feature "${name}" is missing`, field);
  const detail = typeof row[name] === 'number' ? 'must be a finite number' : 'must be a number';
  throw new ApiError(400, 'invalid_feature_value', `${name}: ${detail}`, field);
}

export function predictRoutes({ config, registry, log, privacy, shadow }: Deps) {
  return new Hono().post('/predict', async (c) => {
    const started = process.hrtime.bigint();
    const request = parseRequest(await readJson(c), config.MLMON_API_MAX_BATCH);
    const context = privacy.context(request.context);
    const { model, role } = registry.choose(request.pinned);
    const rows = request.rows.map((row, i) => checkRow(model, row, request.base(i)));
    const results = await registry.predict(model, rows);
    const batchDuration = Number(process.hrtime.bigint() - started);
    // Each row gets its share of the batch as its own duration, so that an average over prediction lines
    // is an average per prediction; the whole batch's time is kept beside it under a name that says so.
    const duration = Math.round(batchDuration / results.length);
    const requestId = c.get('requestId');
    const modelRef = { name: model.card.name, version: model.card.version };
    // Shared by every row's line: the lines are validated and serialized, never mutated.
    const loggedModel = { ...modelRef, role };
    const batch = { size: results.length, duration_ns: batchDuration };
    const ood = config.MLMON_API_OOD_SCORE ? model.ood : undefined;
    // A copy for the shadow is decided (and its slot taken) now, so that each active line can name its copy's
    // prediction; it is handed over only once the answer is logged, and runs after the answer left.
    const shadowModel = role === 'active' && config.MLMON_API_LOG_PREDICTIONS ? shadow.take() : undefined;
    const shadowIds = shadowModel ? results.map(() => predictionId()) : undefined;
    const logged: Array<Promise<void>> = [];
    const predictions = results.map((r, i) => {
      const id = predictionId();
      if (config.MLMON_API_LOG_PREDICTIONS) {
        logged.push(
          // Every part was validated above (features, context) or made here (ids, the model's checked output).
          log.writePrevalidated('mlmon.prediction', 'info', 'prediction', {
            event: { duration },
            http: { request: { id: requestId } },
            mlmon: {
              model: loggedModel,
              prediction: {
                id,
                label: r.label,
                score: r.score,
                features: privacy.features(rows[i]!),
                // From the values the model saw, not the logged (possibly coarsened) ones.
                ...(ood ? { ood: ood.score(rows[i]!) } : {}),
                batch,
                ...(context ? { context } : {}),
                ...(shadowIds ? { shadow_id: shadowIds[i]! } : {}),
              },
            },
          }),
        );
      }
      return { prediction_id: id, model: modelRef, label: r.label, probability: r.score, probabilities: r.probabilities };
    });
    // Answered only once logged: a prediction nobody can find in the logs is worse than a slower one.
    try {
      await Promise.all(logged);
    } catch (err) {
      if (shadowModel) shadow.release();
      throw err;
    }
    if (shadowModel) {
      shadow.submit({
        model: shadowModel,
        rows,
        ids: shadowIds!,
        requestId,
        context,
        active: { version: model.card.version, duration, predictions: predictions.map((p) => ({ id: p.prediction_id, label: p.label, score: p.probability })) },
      });
    }
    return c.json(request.single ? predictions[0] : { predictions });
  });
}
