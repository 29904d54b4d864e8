/**
 * The per-action state Watcher keeps in a watch's status: acknowledgement and
 * the last executions, which throttling reads. The runner persists it in
 * Elasticsearch (state.ts) so that it survives a restart.
 */
export type AckState = 'awaits_successful_execution' | 'ackable' | 'acked';

export interface ActionStatus {
  ack: { state: AckState; timestamp: string };
  last_execution?: { timestamp: string; successful: boolean; reason?: string };
  last_successful_execution?: { timestamp: string; successful: true };
  last_throttle?: { timestamp: string; reason: string };
}

export interface WatchStatus {
  actions: Record<string, ActionStatus>;
  last_checked?: string;
  last_met_condition?: string;
}

export const emptyStatus = (): WatchStatus => ({ actions: {} });

export function actionStatus(status: WatchStatus, id: string, at: string): ActionStatus {
  return (status.actions[id] ??= { ack: { state: 'awaits_successful_execution', timestamp: at } });
}

/** ActionStatus.resetAckStatus: back to awaiting a successful run; an action already waiting keeps its timestamp. */
export function resetAck(s: ActionStatus, at: string): void {
  if (s.ack.state !== 'awaits_successful_execution') s.ack = { state: 'awaits_successful_execution', timestamp: at };
}

/**
 * Acknowledging: an action that ran since its condition last turned true
 * (ackable) is silenced until the condition is false again. No ids, or
 * `_all` among them, means every action (TransportAckWatchAction); an acked
 * action keeps its first ack timestamp. Returns the actions that changed, as
 * Watcher's ack API does nothing to the others.
 */
export function acknowledge(status: WatchStatus, actionIds: string[], at: string): string[] {
  const changed: string[] = [];
  const ids = actionIds.length === 0 || actionIds.includes('_all') ? Object.keys(status.actions) : actionIds;
  for (const id of ids) {
    const s = status.actions[id];
    if (s?.ack.state === 'ackable') {
      s.ack = { state: 'acked', timestamp: at };
      changed.push(id);
    }
  }
  return changed;
}
