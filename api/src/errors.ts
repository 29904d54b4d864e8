import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { EventLog } from '@mlmon/runtime';
import { CanaryIsActiveError, CanaryPresentError, NoPreviousVersionError, NotActiveError, NotShadowError, UnknownModelVersionError } from './models/registry.js';

/** A refusal the client can act on: a status, a stable machine-readable code, and the field at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

/** The refusal a domain error becomes at the HTTP boundary; undefined for a failure of ours (500). */
export function asApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof UnknownModelVersionError) return new ApiError(404, 'unknown_model_version', err.message, 'model_version');
  if (err instanceof CanaryIsActiveError) return new ApiError(409, 'canary_is_active', err.message, 'version');
  if (err instanceof NotActiveError) return new ApiError(409, 'not_active', err.message, 'version');
  if (err instanceof NoPreviousVersionError) return new ApiError(409, 'no_previous_version', err.message, 'version');
  if (err instanceof NotShadowError) return new ApiError(409, 'not_shadow', err.message, 'version');
  if (err instanceof CanaryPresentError) return new ApiError(409, 'canary_present', err.message, 'version');
  return undefined;
}

/** ECS `error.type`: the class of what was thrown (UnknownModelVersionError, ApiError, TypeError). */
export const errorClass = (error: Error) => error.constructor.name || error.name;

/** The replica's log line for a refused request: what was wrong, the field at fault, and the request it answers. */
export function logRejection(log: EventLog, c: Context, err: ApiError, thrown: Error = err): void {
  void log.write('mlmon.app', 'warn', `rejected ${c.req.method} ${c.req.path}: ${err.message}`, {
    http: { request: { id: c.get('requestId') } },
    error: { code: err.code, message: err.message, type: errorClass(thrown) },
    ...(err.field ? { mlmon: { app: { field: err.field } } } : {}),
  });
}
