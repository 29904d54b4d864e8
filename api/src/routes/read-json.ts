import type { Context } from 'hono';
import { ApiError } from '../errors.js';

export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch (err) {
    throw new ApiError(400, 'malformed_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
