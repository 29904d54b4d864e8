import type { MlmonEvent, PredictionEvent } from './events/index.js';

/**
 * The document id of an event, when it has a natural one. A prediction's id is
 * its `_id`, so a retried bulk never duplicates it and feedback can fetch it.
 */
export function documentId(event: MlmonEvent): string | undefined {
  return isPrediction(event) ? event.mlmon.prediction.id : undefined;
}

// The dataset sits one level down, so TypeScript cannot narrow the union on it by itself.
function isPrediction(event: MlmonEvent): event is PredictionEvent {
  return event.event.dataset === 'mlmon.prediction';
}
