import type { Context } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';

/** Why a body was refused (always 400): a stable code, a message, the member at fault, and the error underneath. */
export interface BodyRefusal {
  code: string;
  message: string;
  field?: string;
  cause: Error;
}

export interface JsonBodyOptions {
  /** The refusal of a body that is not JSON. */
  malformed: (err: Error) => Omit<BodyRefusal, 'cause'>;
  /** The refusal of JSON the schema rejects, from its issues (in the schema's order). */
  invalid: (issues: z.core.$ZodIssue[]) => Omit<BodyRefusal, 'cause'>;
  /** Answers a refusal, or throws the service's own error for its error handler to answer. */
  refuse: (c: Context, refusal: BodyRefusal) => Response | Promise<Response>;
}

/**
 * A JSON body validated by a zod schema through Hono's validator middleware:
 * the route reads the parsed, typed body with `c.req.valid('json')`, and a
 * body the schema rejects never reaches it. Each service says how a refusal
 * reads (its codes, which name the field), so the answers stay what they were.
 *
 * The body is read whatever its declared type, as mlmon's endpoints always
 * have (`curl -d` sends form-urlencoded): Hono's `json` target reads only a
 * body declared application/json and answers malformed JSON with a message of
 * its own, so the body is parsed here first (Hono caches it) and the schema
 * checks that.
 */
export function jsonBody<S extends z.ZodType>(schema: S, o: JsonBodyOptions) {
  const validate = validator('json', async (_declared, c) => {
    const parsed = await schema.safeParseAsync(await c.req.json());
    if (!parsed.success) return o.refuse(c, { ...o.invalid(parsed.error.issues), cause: parsed.error });
    return parsed.data as z.output<S>;
  });
  const parseFirst: typeof validate = async (c, next) => {
    try {
      await c.req.json();
    } catch (err) {
      return o.refuse(c, { ...o.malformed(err as Error), cause: err as Error });
    }
    return validate(c, next);
  };
  return parseFirst;
}
