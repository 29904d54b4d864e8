import type { z } from 'zod';
import { feedbackEvent } from './feedback';
import { dataQualityEvent, driftEvent, qualityEvent } from './metrics';
import { nginxAccessEvent } from './nginx';
import { alertEvent, appEvent, remediationEvent } from './operations';
import { predictionEvent } from './prediction';
import { resourceEvent } from './resource';

export * from './ecs';
export * from './feedback';
export * from './metrics';
export * from './nginx';
export * from './operations';
export * from './prediction';
export * from './resource';

/**
 * Where each dataset is stored. Datasets that are read together share an index
 * family: the analyzer's metrics are queried side by side on one dashboard, and
 * alerts, remediations and app lines form one operational timeline. Predictions,
 * feedback, resources and nginx lines differ in volume and retention, so each
 * has a family of its own.
 */
export const INDEX_FAMILIES = ['predictions', 'feedback', 'resources', 'nginx', 'metrics', 'events'] as const;
export type IndexFamily = (typeof INDEX_FAMILIES)[number];

export const DATASETS = {
  'mlmon.prediction': { schema: predictionEvent, family: 'predictions' },
  'mlmon.feedback': { schema: feedbackEvent, family: 'feedback' },
  'mlmon.resource': { schema: resourceEvent, family: 'resources' },
  'nginx.access': { schema: nginxAccessEvent, family: 'nginx' },
  'mlmon.quality': { schema: qualityEvent, family: 'metrics' },
  'mlmon.drift': { schema: driftEvent, family: 'metrics' },
  'mlmon.data_quality': { schema: dataQualityEvent, family: 'metrics' },
  'mlmon.alert': { schema: alertEvent, family: 'events' },
  'mlmon.remediation': { schema: remediationEvent, family: 'events' },
  'mlmon.app': { schema: appEvent, family: 'events' },
} as const satisfies Record<string, { schema: z.ZodTypeAny; family: IndexFamily }>;

export type Dataset = keyof typeof DATASETS;
export type EventOf<D extends Dataset> = z.infer<(typeof DATASETS)[D]['schema']>;
export type MlmonEvent = { [D in Dataset]: EventOf<D> }[Dataset];

export function isDataset(name: unknown): name is Dataset {
  return typeof name === 'string' && Object.hasOwn(DATASETS, name);
}
