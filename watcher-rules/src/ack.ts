import type { StateStore } from './state.js';
import { acknowledge } from './watcher/status.js';

/**
 * Acknowledges a watch's actions in the runner's state (Watcher's
 * `PUT _watcher/watch/<id>/_ack/<actions>`): an action that ran since its
 * condition became true stays silent until the condition is false again.
 * Returns the actions whose state changed.
 */
export async function ackWatch(store: StateStore, watchId: string, actionIds: string[] | undefined, now = Date.now()): Promise<string[]> {
  let changed: string[] = [];
  await store.update(watchId, (status) => {
    changed = acknowledge(status, actionIds ?? [], new Date(now).toISOString());
  });
  return changed;
}
