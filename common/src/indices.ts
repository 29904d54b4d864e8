import { DATASETS, type Dataset, type IndexFamily } from './events';

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
  const d = at.toISOString().slice(0, 10).replaceAll('-', '.');
  return `${prefix}-${family}-${d}`;
}

export function indexForEvent(prefix: string, event: { '@timestamp': string; event: { dataset: Dataset } }): string {
  return familyIndex(prefix, DATASETS[event.event.dataset].family, new Date(event['@timestamp']));
}
