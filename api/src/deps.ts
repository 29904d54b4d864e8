import type { EventLog } from '@mlmon/runtime';
import type { ApiConfig } from './config.js';
import type { ModelRegistry } from './models/registry.js';

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
