import { z } from 'zod';
import { DATASETS, isDataset, type Dataset, type EventOf, type MlmonEvent } from './events/index.js';

/** Why an event was refused, with the dotted path of the offending field when there is one. */
export class EventValidationError extends Error {
  readonly code = 'invalid_event';
  constructor(
    message: string,
    readonly field: string | undefined,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(message);
    this.name = 'EventValidationError';
  }
}

function describe(issues: z.core.$ZodIssue[]): { message: string; field: string | undefined } {
  const first = issues[0];
  const field = first && first.path.length > 0 ? first.path.join('.') : undefined;
  const parts = issues.slice(0, 3).map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  const more = issues.length > 3 ? ` (+${issues.length - 3} more)` : '';
  return { message: parts.join('; ') + more, field };
}

/** Validates an event against the schema of the dataset it names in `event.dataset`. */
export function validateEvent(input: unknown): MlmonEvent {
  const dataset = (input as { event?: { dataset?: unknown } } | null)?.event?.dataset;
  if (!isDataset(dataset)) {
    const got = dataset === undefined ? 'missing' : JSON.stringify(dataset);
    throw new EventValidationError(`event.dataset: unknown dataset (${got})`, 'event.dataset', []);
  }
  return validateDataset(dataset, input);
}

// zod's ahead-of-time compiled parsers, built on first use: the shipper validates every line it reads.
const compiled = new Map<Dataset, z.ZodType>();

export function validateDataset<D extends Dataset>(dataset: D, input: unknown): EventOf<D> {
  let schema = compiled.get(dataset);
  if (!schema) compiled.set(dataset, (schema = z.compile(DATASETS[dataset].schema)));
  const result = schema.safeParse(input);
  if (!result.success) {
    const { message, field } = describe(result.error.issues);
    throw new EventValidationError(`${dataset}: ${message}`, field, result.error.issues);
  }
  return result.data as EventOf<D>;
}
