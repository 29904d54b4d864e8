import type { EventLog } from '@mlmon/runtime';
import type { ApiConfig } from './config.js';
import type { ModelRegistry } from './models/registry.js';
import type { Privacy } from './privacy.js';
import type { Shadow } from './shadow/copies.js';

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
  privacy: Privacy;
  shadow: Shadow;
}
