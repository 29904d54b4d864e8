import { Hono } from 'hono';
import { validate as isUuid, version as uuidVersion } from 'uuid';
import { formatDuration } from '@mlmon/runtime';
import { ApiError } from '../errors.js';
import type { Deps } from '../deps.js';
import { readJson } from './read-json.js';

/** The millisecond timestamp a UUIDv7 carries in its first 48 bits. */
function uuidv7Millis(id: string): number {
  return parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

const CLOCK_SKEW_MS = 60_000;

export function feedbackRoutes({ config, registry, log }: Deps) {
  return new Hono().post('/feedback', async (c) => {
    const body = await readJson(c);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ApiError(400, 'invalid_body', 'body must be a JSON object with "prediction_id" and "true_label"');
    }
    const { prediction_id: id, true_label: label, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new ApiError(400, 'unknown_field', `unknown field "${extra}"`, extra);
    if (typeof id !== 'string' || !isUuid(id)) {
      throw new ApiError(400, 'invalid_prediction_id', 'prediction_id must be the id a prediction returned (a UUID)', 'prediction_id');
    }
    // Replicas keep no record of past predictions (the log is the record), so "unknown" is what no
    // prediction of ours can be: not a UUIDv7, from the future, or past the feedback window.
    // Feedback whose prediction never reached Elasticsearch is the analyzer's to count.
    const issuedAt = uuidVersion(id) === 7 ? uuidv7Millis(id) : NaN;
    const age = Date.now() - issuedAt;
    if (!(age >= -CLOCK_SKEW_MS && age <= config.MLMON_API_FEEDBACK_MAX_AGE)) {
      throw new ApiError(404, 'unknown_prediction', `no prediction ${id} within the last ${formatDuration(config.MLMON_API_FEEDBACK_MAX_AGE)} (MLMON_API_FEEDBACK_MAX_AGE)`, 'prediction_id');
    }
    const classes = registry.get(registry.serving().active).card.class_labels;
    if (typeof label !== 'string' || !classes.includes(label)) {
      throw new ApiError(400, 'invalid_label', `true_label must be one of ${classes.join(', ')}`, 'true_label');
    }
    await log.write('mlmon.feedback', 'info', 'feedback', {
      mlmon: { prediction: { id }, feedback: { true_label: label, delay_ms: Math.max(0, age) } },
    });
    return c.json({ accepted: true, prediction_id: id }, 202);
  });
}
