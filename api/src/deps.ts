import type { EventLog } from '@mlmon/common';
import type { ApiConfig } from './config';
import type { ModelRegistry } from './models/registry';

/** Mutable process state the routes and the shutdown path share. */
export interface ReplicaState {
  draining: boolean;
  inFlight: number;
}

export interface Deps {
  config: ApiConfig;
  registry: ModelRegistry;
  log: EventLog;
  state: ReplicaState;
}
