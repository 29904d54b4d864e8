import { z } from 'zod';

/**
 * The ECS fields every mlmon event carries, whatever its dataset.
 *
 * ECS-owned objects are loose objects: logging libraries may add ECS fields
 * we do not model (ecs-winston-format adds some when an APM agent is present),
 * and rejecting a whole prediction for an extra `process.title` would lose data.
 * Such fields are kept in `_source` but not indexed (the templates map the root
 * with `dynamic: false`). The `mlmon` object is ours and strict, so a typo in a
 * custom field is caught at the producer instead of silently not being indexed.
 */
export const isoTimestamp = z.iso.datetime({ offset: true });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'warning', 'error', 'critical'] as const;

export const EVENT_KINDS = ['event', 'metric', 'alert', 'state'] as const;

const baseEvent = {
  kind: z.enum(EVENT_KINDS),
  // Orders one process's lines that share a millisecond (the rows of a batch); ECS's own field for it.
  sequence: z.number().int().nonnegative().optional(),
};

export const ecsBaseShape = {
  '@timestamp': isoTimestamp,
  message: z.string(),
  log: z.looseObject({ level: z.enum(LOG_LEVELS), logger: z.string().optional() }),
  ecs: z.looseObject({ version: z.string() }),
  service: z.looseObject({
    name: z.string().min(1),
    version: z.string().optional(),
    environment: z.string().optional(),
    node: z.looseObject({ name: z.string().min(1) }).optional(),
  }),
  host: z.looseObject({ hostname: z.string() }).optional(),
  process: z.looseObject({ pid: z.number().int().nonnegative() }).optional(),
};

/**
 * Builds the schema of one dataset: the ECS base, `event.dataset` fixed to the
 * dataset name, dataset-specific `event.*` fields, other ECS fields the dataset
 * uses, and its strict `mlmon` object.
 */
// Defaults matter: an omitted part inferred as bare ZodRawShape would widen every field to `unknown`.
type NoFields = Record<never, never>;

export function ecsEvent<
  D extends string,
  E extends z.ZodRawShape = NoFields,
  X extends z.ZodRawShape = NoFields,
  M extends z.ZodRawShape = NoFields,
>(dataset: D, parts: { event?: E; ecs?: X; mlmon: M }) {
  return z.looseObject({
    ...ecsBaseShape,
    event: z.looseObject({ ...baseEvent, dataset: z.literal(dataset), ...(parts.event ?? ({} as E)) }),
    ...(parts.ecs ?? ({} as X)),
    mlmon: z.strictObject(parts.mlmon),
  });
}

/** A model is named by name and version in every event that concerns one. */
export const modelRef = z.strictObject({
  name: z.string().min(1),
  version: z.string().min(1),
});

export const httpRequestId = z.object({
  request: z.looseObject({ id: z.string().min(1) }),
});
