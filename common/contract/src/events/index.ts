import type { z } from 'zod';
import type { EVENT_KINDS } from './ecs.js';
import { feedbackEvent } from './feedback.js';
import { labeledDocument } from './labeled.js';
import { dataQualityEvent, driftEvent, qualityEvent } from './metrics.js';
import { nginxAccessEvent } from './nginx.js';
import { alertEvent, appEvent, remediationEvent } from './operations.js';
import { predictionEvent } from './prediction.js';
import { resourceEvent } from './resource.js';

export * from './ecs.js';
export * from './feedback.js';
export * from './labeled.js';
export * from './metrics.js';
export * from './nginx.js';
export * from './operations.js';
export * from './prediction.js';
export * from './resource.js';

/**
 * Where each dataset is stored. Datasets that are read together share an index
 * family: the analyzer's metrics are queried side by side on one dashboard, and
 * alerts, remediations and app lines form one operational timeline. Predictions,
 * feedback, resources and nginx lines differ in volume and retention, so each
 * has a family of its own. `kind` is the ECS `event.kind` producers write.
 * The `labeled` family holds no log lines: see DERIVED_DOCUMENTS.
 */
export const INDEX_FAMILIES = ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events', 'labeled'] as const;
export type IndexFamily = (typeof INDEX_FAMILIES)[number];

export const DATASETS = {
  'mlmon.prediction': { schema: predictionEvent, family: 'predictions', kind: 'event' },
  'mlmon.feedback': { schema: feedbackEvent, family: 'feedback', kind: 'event' },
  'mlmon.resource': { schema: resourceEvent, family: 'resources', kind: 'metric' },
  'nginx.access': { schema: nginxAccessEvent, family: 'nginx', kind: 'event' },
  'mlmon.quality': { schema: qualityEvent, family: 'metrics', kind: 'metric' },
  'mlmon.drift': { schema: driftEvent, family: 'metrics', kind: 'metric' },
  'mlmon.data_quality': { schema: dataQualityEvent, family: 'metrics', kind: 'metric' },
  'mlmon.alert': { schema: alertEvent, family: 'events', kind: 'alert' },
  'mlmon.remediation': { schema: remediationEvent, family: 'events', kind: 'event' },
  'mlmon.app': { schema: appEvent, family: 'events', kind: 'event' },
} as const satisfies Record<string, { schema: z.ZodType; family: IndexFamily; kind: (typeof EVENT_KINDS)[number] }>;

export type Dataset = keyof typeof DATASETS;

/**
 * Documents mlmon derives from other documents and writes itself, rather than
 * as log lines: no ECS header, never shipped (the shipper's create-only role
 * could not rewrite one), each the only kind of document in its family.
 */
export const DERIVED_DOCUMENTS = {
  'mlmon.labeled': { schema: labeledDocument, family: 'labeled' },
} as const satisfies Record<string, { schema: z.ZodType; family: IndexFamily }>;
export type DerivedDocument = keyof typeof DERIVED_DOCUMENTS;
export type EventOf<D extends Dataset> = z.infer<(typeof DATASETS)[D]['schema']>;
export type MlmonEvent = { [D in Dataset]: EventOf<D> }[Dataset];

export function isDataset(name: unknown): name is Dataset {
  return typeof name === 'string' && Object.hasOwn(DATASETS, name);
}
