import { WatcherDate, isoDateTime } from './dates.js';
import type { WatchMetadata } from './schema.js';

export interface ExecutionTimes {
  /** The tick this execution is for: what the watch's range queries are anchored on. */
  scheduledTime: number;
  triggeredTime: number;
  executionTime: number;
}

/** Watcher's execution context (`ctx`), as templates and conditions see it. */
export interface WatchContext {
  id: string;
  watch_id: string;
  execution_time: WatcherDate;
  trigger: { scheduled_time: WatcherDate; triggered_time: WatcherDate };
  metadata: WatchMetadata;
  payload: Record<string, unknown>;
  vars: Record<string, unknown>;
}

export function createContext(watchId: string, executionId: string, metadata: WatchMetadata, t: ExecutionTimes): WatchContext {
  return {
    id: executionId,
    watch_id: watchId,
    execution_time: new WatcherDate(t.executionTime),
    trigger: { scheduled_time: new WatcherDate(t.scheduledTime), triggered_time: new WatcherDate(t.triggeredTime) },
    metadata,
    payload: {},
    vars: {},
  };
}

/** Watcher's execution ids (Wid): `<watch id>_<uuid>-<execution time in ISO_DATE_TIME>`. */
export function executionId(watchId: string, uuid: string, executionTime: number): string {
  return `${watchId}_${uuid}-${isoDateTime(executionTime)}`;
}

export const model = (ctx: WatchContext): Record<string, unknown> => ({ ctx });
