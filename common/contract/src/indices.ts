import { DATASETS, type Dataset, type IndexFamily } from './events/index.js';

/** `mlmon-predictions-*`: the pattern an index template and a Kibana data view use. */
export function familyPattern(prefix: string, family: IndexFamily): string {
  return `${prefix}-${family}-*`;
}

/**
 * Daily indices, named by the event's own timestamp rather than the time it was
 * shipped, so a line shipped late (after an outage) lands beside its neighbours
 * and retention can drop whole days.
 */
export function familyIndex(prefix: string, family: IndexFamily, at: Date): string {
  return dayIndex(prefix, family, at.toISOString());
}

/** `2026.12.03` from an ISO UTC stamp: the suffix of every daily index. */
const dayOf = (utc: string) => utc.slice(0, 10).replaceAll('-', '.');
const dayIndex = (prefix: string, family: IndexFamily, utc: string) => `${prefix}-${family}-${dayOf(utc)}`;

/** For a validated event, whose '@timestamp' is an ISO date-time. */
export function indexForEvent(prefix: string, event: { '@timestamp': string; event: { dataset: Dataset } }): string {
  const at = event['@timestamp'];
  // A UTC stamp (what mlmon writes) starts with its day; only one with an offset needs a Date.
  // The shipper routes every line through here, and the Date was a twentieth of its CPU.
  return dayIndex(prefix, DATASETS[event.event.dataset].family, at.endsWith('Z') ? at : new Date(at).toISOString());
}

/**
 * The rule runner's own indices, outside the event families: each watch's
 * status and lease (`rules-state`) and its execution history (daily
 * `rules-history-YYYY.MM.DD`), under one pattern its role may write.
 */
export const rulesIndex = (prefix: string, name: 'state' | 'history-*' | `history-${string}`) => `${prefix}-rules-${name}`;
export const rulesIndexPattern = (prefix: string) => `${prefix}-rules-*`;
export const rulesHistoryIndex = (prefix: string, at: number) => rulesIndex(prefix, `history-${dayOf(new Date(at).toISOString())}`);
