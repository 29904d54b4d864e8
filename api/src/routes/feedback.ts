import { Hono } from 'hono';
import { validate as isUuid, version as uuidVersion } from 'uuid';
import { z } from 'zod';
import { formatDuration } from '@mlmon/runtime';
import { ApiError } from '../errors.js';
import type { Deps } from '../deps.js';
import { validJson } from './read-json.js';

/** The millisecond timestamp a UUIDv7 carries in its first 48 bits. */
function uuidv7Millis(id: string): number {
  return parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

const CLOCK_SKEW_MS = 60_000;

const ID = 'prediction_id must be the id a prediction returned (a UUID)';

export function feedbackRoutes({ config, registry, log }: Deps) {
  const classes = () => registry.get(registry.serving().active).card.class_labels;
  const labelMessage = () => `true_label must be one of ${classes().join(', ')}`;
  const body = z.strictObject({
    prediction_id: z.string({ error: ID }).refine((id) => isUuid(id), { error: ID }),
    // Which labels are known is the serving model's to say: checked in the route, after the prediction id.
    true_label: z.string({ error: labelMessage }),
  });
  const feedbackJson = validJson(body, { prediction_id: 'invalid_prediction_id', true_label: 'invalid_label' }, {
    code: 'invalid_body',
    message: 'body must be a JSON object with "prediction_id" and "true_label"',
  });
  return new Hono().post('/feedback', feedbackJson, async (c) => {
    const { prediction_id: id, true_label: label } = c.req.valid('json');
    // Replicas keep no record of past predictions (the log is the record), so "unknown" is what no
    // prediction of ours can be: not a UUIDv7, from the future, or past the feedback window.
    // Feedback whose prediction never reached Elasticsearch is the analyzer's to count.
    const issuedAt = uuidVersion(id) === 7 ? uuidv7Millis(id) : NaN;
    const age = Date.now() - issuedAt;
    if (!(age >= -CLOCK_SKEW_MS && age <= config.MLMON_API_FEEDBACK_MAX_AGE)) {
      throw new ApiError(404, 'unknown_prediction', `no prediction ${id} within the last ${formatDuration(config.MLMON_API_FEEDBACK_MAX_AGE)} (MLMON_API_FEEDBACK_MAX_AGE)`, 'prediction_id');
    }
    if (!classes().includes(label)) throw new ApiError(400, 'invalid_label', labelMessage(), 'true_label');
    await log.write('mlmon.feedback', 'info', 'feedback', {
      mlmon: { prediction: { id }, feedback: { true_label: label, delay_ms: Math.max(0, age) } },
    });
    return c.json({ accepted: true, prediction_id: id }, 202);
  });
}
