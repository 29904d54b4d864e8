import type { Context } from 'hono';
import type { z } from 'zod';
import { jsonBody } from '@mlmon/runtime';
import { ApiError } from '../errors.js';

const malformed = (err: Error) => ({ code: 'malformed_json', message: `body is not valid JSON: ${err.message}` });

/** The body as JSON, for a route that checks it itself (/v1/predict: its per-feature codes are counted by the analyzer). */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (err) {
    const m = malformed(err as Error);
    throw new ApiError(400, m.code, m.message);
  }
}

type Refusal = { code: string; message: string; field?: string };

/**
 * A route's JSON body checked by its zod schema through Hono's validator
 * (@mlmon/runtime's jsonBody), refused as the api always has: a member the
 * schema does not know is `unknown_field`, a bad member gets its route's code
 * (`codes`, by member) with the schema's message, anything else `whole`.
 */
export function validJson<S extends z.ZodType>(schema: S, codes: Record<string, string>, whole: Refusal) {
  return jsonBody(schema, {
    malformed,
    invalid: (issues): Refusal => {
      const unknown = issues.find((i): i is z.core.$ZodIssueUnrecognizedKeys => i.code === 'unrecognized_keys');
      if (unknown) return { code: 'unknown_field', message: `unknown field "${unknown.keys[0]}"`, field: unknown.keys[0]! };
      const issue = issues[0]!;
      const field = issue.path.length === 1 ? String(issue.path[0]) : undefined;
      const code = field === undefined ? undefined : codes[field];
      return code ? { code, message: issue.message, field: field! } : whole;
    },
    refuse: (_c, r) => {
      throw new ApiError(400, r.code, r.message, r.field);
    },
  });
}
