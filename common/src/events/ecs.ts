import { z } from 'zod';

/**
 * The ECS fields every mlmon event carries, whatever its dataset.
 *
 * ECS-owned objects use `.passthrough()`: logging libraries may add ECS fields
 * we do not model (ecs-winston-format adds some when an APM agent is present),
 * and rejecting a whole prediction for an extra `process.title` would lose data.
 * Such fields are kept in `_source` but not indexed (the templates map the root
 * with `dynamic: false`). The `mlmon` object is ours and strict, so a typo in a
 * custom field is caught at the producer instead of silently not being indexed.
 */
export const isoTimestamp = z.string().datetime({ offset: true });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'warning', 'error', 'critical'] as const;

export const EVENT_KINDS = ['event', 'metric', 'alert', 'state'] as const;

const baseEvent = {
  kind: z.enum(EVENT_KINDS),
};

export const ecsBaseShape = {
  '@timestamp': isoTimestamp,
  message: z.string(),
  log: z.object({ level: z.enum(LOG_LEVELS), logger: z.string().optional() }).passthrough(),
  ecs: z.object({ version: z.string() }).passthrough(),
  service: z
    .object({
      name: z.string().min(1),
      version: z.string().optional(),
      environment: z.string().optional(),
      node: z.object({ name: z.string().min(1) }).passthrough().optional(),
    })
    .passthrough(),
  host: z.object({ hostname: z.string() }).passthrough().optional(),
  process: z.object({ pid: z.number().int().nonnegative() }).passthrough().optional(),
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
  return z
    .object({
      ...ecsBaseShape,
      event: z
        .object({ ...baseEvent, dataset: z.literal(dataset), ...(parts.event ?? ({} as E)) })
        .passthrough(),
      ...(parts.ecs ?? ({} as X)),
      mlmon: z.object(parts.mlmon).strict(),
    })
    .passthrough();
}

/** A model is named by name and version in every event that concerns one. */
export const modelRef = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
  })
  .strict();

/** A half-open time window [start, end) over which the analyzer computed a metric. */
export const timeWindow = z
  .object({
    start: isoTimestamp,
    end: isoTimestamp,
  })
  .strict();

export const httpRequestId = z.object({
  request: z.object({ id: z.string().min(1) }).passthrough(),
});
