import type { Client } from '@elastic/elasticsearch';
import { familyPattern } from '@mlmon/contract';

export interface LabeledRow {
  features: Record<string, number>;
  label: string;
}

export interface LabeledData {
  rows: LabeledRow[];
  /** Feedback documents read, and how many found their prediction with every feature. */
  feedback: number;
  window: { start: string; end: string };
  source: string;
}

const PAGE = 1000;

/**
 * Recent labeled production data: the newest feedback in the window (one per
 * prediction, the latest wins), joined with its prediction by id. Feedback is
 * read page by page (search_after) and predictions fetched by id in batches,
 * so the job never exports a window: it stops at `maxRows` labels.
 */
export async function pullLabeledData(
  client: Client,
  o: { prefix: string; start: Date; end: Date; maxRows: number; featureNames: string[]; classLabels: string[]; progress?: (message: string) => void },
): Promise<LabeledData> {
  const labels = new Map<string, string>();
  let feedback = 0;
  let after: Array<string | number> | undefined;
  while (labels.size < o.maxRows) {
    const page = await client.search<{ mlmon: { prediction: { id: string }; feedback: { true_label: string } } }>({
      index: familyPattern(o.prefix, 'feedback'),
      ignore_unavailable: true,
      allow_no_indices: true,
      size: PAGE,
      _source: ['mlmon.prediction.id', 'mlmon.feedback.true_label'],
      query: { range: { '@timestamp': { gte: o.start.toISOString(), lt: o.end.toISOString() } } },
      sort: [{ '@timestamp': 'desc' }, { 'mlmon.prediction.id': 'asc' }],
      ...(after ? { search_after: after } : {}),
    });
    const hits = page.hits.hits;
    for (const h of hits) {
      feedback += 1;
      const { prediction, feedback: fb } = h._source!.mlmon;
      // Newest first: a later correction of the same prediction was already taken.
      if (!labels.has(prediction.id) && labels.size < o.maxRows) labels.set(prediction.id, fb.true_label);
    }
    if (hits.length < PAGE) break;
    after = hits.at(-1)!.sort as Array<string | number>;
  }
  o.progress?.(`read ${feedback} feedback documents: ${labels.size} labeled predictions`);

  const rows: LabeledRow[] = [];
  const ids = [...labels.keys()];
  for (let i = 0; i < ids.length; i += PAGE) {
    const batch = ids.slice(i, i + PAGE);
    const found = await client.search<{ mlmon: { prediction: { id: string; features: Record<string, number> } } }>({
      index: familyPattern(o.prefix, 'predictions'),
      ignore_unavailable: true,
      allow_no_indices: true,
      size: batch.length,
      _source: ['mlmon.prediction.id', 'mlmon.prediction.features'],
      query: { ids: { values: batch } },
    });
    for (const h of found.hits.hits) {
      const { id, features } = h._source!.mlmon.prediction;
      const label = labels.get(id);
      // Rows the model cannot learn from (a missing feature, a label it does not know) are left out, not guessed.
      if (label === undefined || !o.classLabels.includes(label)) continue;
      if (!o.featureNames.every((f) => Number.isFinite(features[f]))) continue;
      rows.push({ features: Object.fromEntries(o.featureNames.map((f) => [f, features[f]!])), label });
    }
    o.progress?.(`joined ${Math.min(i + PAGE, ids.length)}/${ids.length} predictions: ${rows.length} usable rows`);
  }
  return {
    rows,
    feedback,
    window: { start: o.start.toISOString(), end: o.end.toISOString() },
    source: `${familyPattern(o.prefix, 'feedback')} joined with ${familyPattern(o.prefix, 'predictions')} by prediction id`,
  };
}
