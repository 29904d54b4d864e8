import type { Client, estypes } from '@elastic/elasticsearch';
import { INDEX_FAMILIES, type IndexFamily } from './events/index.js';
import { familyPattern } from './indices.js';

/**
 * How many days each index family is kept: the one source for the ILM
 * policies a cluster with ILM gets (docker-compose) and for `mlmon retention`,
 * which deletes whole daily indices on clusters without ILM (the local one).
 * Predictions and feedback only matter while they can still be joined and
 * analysed; metrics, alerts and remediations are the long-term record (a year
 * and a month, so a year-over-year comparison has its month). A labeled
 * document copies its prediction (model, label, score), so it is kept exactly
 * as long: never past the prediction it copies. Its daily index is named by
 * the prediction's day, so both go on the same day.
 */
const PREDICTION_DAYS = 30;
export const RETENTION_DAYS: Readonly<Record<IndexFamily, number>> = {
  predictions: PREDICTION_DAYS,
  feedback: 30,
  nginx: 14,
  resources: 14,
  metrics: 400,
  events: 400,
  labeled: PREDICTION_DAYS,
};

const DAY_MS = 86_400_000;

/** The UTC day a daily index holds (`mlmon-predictions-2026.11.21`), or undefined for a name of another shape. */
export function indexDay(prefix: string, family: IndexFamily, index: string): Date | undefined {
  const m = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}-${family}-(\\d{4})\\.(\\d{2})\\.(\\d{2})$`).exec(index);
  if (!m) return undefined;
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  // 2026.02.30 is not a day: Date would roll it into March.
  return day.getUTCDate() === Number(m[3]) ? day : undefined;
}

/**
 * Whether an index of `day` is past its family's retention at `now`: its
 * whole day lies more than `days` days back, so no document in it is younger.
 */
export function isExpired(day: Date, days: number, now: Date): boolean {
  return day.getTime() + DAY_MS <= now.getTime() - days * DAY_MS;
}

export interface RetentionDecision {
  index: string;
  family: IndexFamily;
  day: string;
  keepDays: number;
}

/**
 * Deletes (or with dryRun only lists) every daily index past its family's
 * retention. Names are deleted one by one: the cluster refuses wildcard
 * deletes, and a name that does not parse as a day is never touched.
 */
export async function applyRetention(
  client: Client,
  opts: { prefix: string; now?: Date; dryRun?: boolean; days?: Partial<Record<IndexFamily, number>> },
): Promise<{ deleted: RetentionDecision[]; kept: number }> {
  const now = opts.now ?? new Date();
  const deleted: RetentionDecision[] = [];
  let kept = 0;
  for (const family of INDEX_FAMILIES) {
    const keepDays = opts.days?.[family] ?? RETENTION_DAYS[family];
    const found = await client.cat.indices({ index: familyPattern(opts.prefix, family), format: 'json', h: 'index', expand_wildcards: 'all' });
    for (const { index } of found as Array<{ index?: string }>) {
      const day = index === undefined ? undefined : indexDay(opts.prefix, family, index);
      if (!index || !day || !isExpired(day, keepDays, now)) {
        kept += 1;
        continue;
      }
      if (!opts.dryRun) await client.indices.delete({ index }, { ignore: [404] });
      deleted.push({ index, family, day: day.toISOString().slice(0, 10), keepDays });
    }
  }
  return { deleted, kept };
}

/** `mlmon-predictions`: the ILM policy a family's indices carry where the cluster has ILM. */
export const lifecyclePolicyName = (prefix: string, family: IndexFamily) => `${prefix}-${family}`;

/**
 * The ILM policy of each family, from the same retention: daily indices are
 * not rolled over (the shipper names them by day), so the only phase needed
 * is the delete phase, counted from the index's creation.
 */
export function lifecyclePolicies(prefix: string): Array<{ name: string; policy: estypes.IlmPolicy }> {
  return INDEX_FAMILIES.map((family) => ({
    name: lifecyclePolicyName(prefix, family),
    policy: {
      _meta: { managed_by: 'mlmon', description: `mlmon ${family}: delete after ${RETENTION_DAYS[family]} days` },
      phases: {
        hot: { min_age: '0ms', actions: {} },
        delete: { min_age: `${RETENTION_DAYS[family]}d`, actions: { delete: {} } },
      },
    },
  }));
}
