import { createHmac } from 'node:crypto';
import type { ApiConfig } from './config.js';
import { ApiError } from './errors.js';

const MAX_CONTEXT_KEYS = 16;
const MAX_CONTEXT_VALUE = 256;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What a prediction's log line may carry about the caller and the input, so
 * that sensitive data never reaches a log file or Elasticsearch:
 * - `context` (string metadata for traceability, e.g. patient_id): the fields
 *   configured as sensitive become a keyed HMAC pseudonym (the same patient,
 *   the same pseudonym; the key never leaves the process), or, with no key
 *   configured, are dropped, so nothing leaks by default;
 * - features: those configured are dropped from the line or coarsened to a
 *   step. The model itself always sees the values it was sent.
 */
export interface Privacy {
  context(raw: unknown): Record<string, string> | undefined;
  features(row: Record<string, number>): Record<string, number>;
}

export function createPrivacy(config: Pick<ApiConfig, 'MLMON_API_PSEUDONYMIZE_FIELDS' | 'MLMON_API_PSEUDONYM_KEY' | 'MLMON_API_LOG_DROP_FEATURES' | 'MLMON_API_LOG_COARSEN_FEATURES'>): Privacy {
  const sensitive = new Set(config.MLMON_API_PSEUDONYMIZE_FIELDS);
  const pseudonym = (field: string, value: string) =>
    // The field is part of the message, so one value under two fields gives two pseudonyms.
    `hmac-sha256:${createHmac('sha256', config.MLMON_API_PSEUDONYM_KEY!).update(`${field}\u0000${value}`).digest('hex').slice(0, 32)}`;
  const drop = new Set(config.MLMON_API_LOG_DROP_FEATURES);
  const coarsen = config.MLMON_API_LOG_COARSEN_FEATURES;
  const plain = drop.size === 0 && coarsen.size === 0;
  return {
    context(raw) {
      if (raw === undefined) return undefined;
      if (!isObject(raw)) throw new ApiError(400, 'invalid_context', '"context" must be an object of strings', 'context');
      const entries = Object.entries(raw);
      if (entries.length > MAX_CONTEXT_KEYS) throw new ApiError(400, 'invalid_context', `"context" holds at most ${MAX_CONTEXT_KEYS} fields`, 'context');
      const out: Record<string, string> = {};
      for (const [key, value] of entries) {
        const field = `context.${key}`;
        if (!/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new ApiError(400, 'invalid_context', `context field names are letters, digits and "_" (got ${JSON.stringify(key.slice(0, 70))})`, 'context');
        if (typeof value !== 'string' || value.length > MAX_CONTEXT_VALUE) throw new ApiError(400, 'invalid_context', `${field} must be a string of at most ${MAX_CONTEXT_VALUE} characters`, field);
        if (!sensitive.has(key)) out[key] = value;
        else if (config.MLMON_API_PSEUDONYM_KEY) out[key] = pseudonym(key, value);
      }
      return out;
    },
    features(row) {
      if (plain) return row;
      const out: Record<string, number> = {};
      for (const name in row) {
        if (drop.has(name)) continue;
        const step = coarsen.get(name);
        out[name] = step === undefined ? row[name]! : Math.round(row[name]! / step) * step;
      }
      return out;
    },
  };
}
