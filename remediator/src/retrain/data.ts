import type { Client } from '@elastic/elasticsearch';
import { familyPattern, type LabeledDocument } from '@mlmon/contract';

export interface LabeledRow {
  features: Record<string, number>;
  label: string;
}

export interface LabeledData {
  rows: LabeledRow[];
  /** Labeled predictions read, and how many of them had every feature and a known label. */
  labeled: number;
  window: { start: string; end: string };
  source: string;
}

const PAGE = 1000;

/**
 * Recent labeled production data: the analyzer's labeled documents (its join
 * of each feedback to its prediction, one per prediction, the latest feedback
 * winning) whose feedback arrived in the window, newest first, with the
 * features of their predictions fetched by id. Labels are read page by page
 * (search_after) and features in batches, so the job never exports a window:
 * it stops at `maxRows` labels.
 */
export async function pullLabeledData(
  client: Client,
  o: { prefix: string; start: Date; end: Date; maxRows: number; featureNames: string[]; classLabels: string[]; progress?: (message: string) => void },
): Promise<LabeledData> {
  const labels = new Map<string, string>();
  let after: Array<string | number> | undefined;
  while (labels.size < o.maxRows) {
    const size = Math.min(PAGE, o.maxRows - labels.size);
    const page = await client.search<LabeledDocument>({
      index: familyPattern(o.prefix, 'labeled'),
      ignore_unavailable: true,
      allow_no_indices: true,
      size,
      _source: ['mlmon.prediction.id', 'mlmon.feedback.true_label'],
      query: {
        bool: {
          // An orphan (feedback whose prediction is not indexed yet) has no features to learn from.
          filter: [{ term: { 'mlmon.labeled.status': 'joined' } }, { range: { 'mlmon.feedback.at': { gte: o.start.toISOString(), lt: o.end.toISOString() } } }],
          // A shadow's copy of a request is the same row as its active prediction: learned from once.
          must_not: [{ term: { 'mlmon.model.role': 'shadow' } }],
        },
      },
      sort: [{ 'mlmon.feedback.at': 'desc' }, { 'mlmon.prediction.id': 'asc' }],
      ...(after ? { search_after: after } : {}),
    });
    const hits = page.hits.hits;
    // One document per prediction: each hit is a label of its own.
    for (const h of hits) labels.set(h._source!.mlmon.prediction.id, h._source!.mlmon.feedback.true_label);
    if (hits.length < size) break;
    after = hits.at(-1)!.sort as Array<string | number>;
  }
  o.progress?.(`read ${labels.size} labeled predictions`);

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
    o.progress?.(`fetched the features of ${Math.min(i + PAGE, ids.length)}/${ids.length} predictions: ${rows.length} usable rows`);
  }
  return {
    rows,
    labeled: labels.size,
    window: { start: o.start.toISOString(), end: o.end.toISOString() },
    source: `${familyPattern(o.prefix, 'labeled')} (the analyzer's join of feedback to predictions) with features from ${familyPattern(o.prefix, 'predictions')} by prediction id`,
  };
}
