import { LOG_BASENAMES } from '@mlmon/contract';
import { createEventLog, startResourceSampler, type EventLog } from '@mlmon/runtime';
import { createApp } from './app.js';
import type { ApiConfig } from './config.js';
import type { ReplicaState } from './deps.js';
import { ModelRegistry } from './models/registry.js';
import { createPrivacy } from './privacy.js';
import { createShadow } from './shadow/copies.js';

export interface Replica {
  app: ReturnType<typeof createApp>;
  log: EventLog;
  registry: ModelRegistry;
  state: ReplicaState;
  /** Stops sampling and watching, then flushes the log. */
  close(): Promise<void>;
}

/** Everything one replica is, short of the listening socket: main.ts serves it, tests call it in-process. */
export async function createReplica(config: ApiConfig): Promise<Replica> {
  const log = createEventLog({
    service: 'mlmon-api',
    node: config.MLMON_API_REPLICA_ID,
    dir: config.MLMON_LOG_DIR,
    basename: LOG_BASENAMES.replica(config.MLMON_API_REPLICA_ID),
    maxBytes: config.MLMON_API_LOG_MAX_BYTES,
    maxFiles: config.MLMON_API_LOG_MAX_FILES,
    stdout: config.MLMON_LOG_STDOUT,
    // Under load the lines of one inference run share one write instead of one each (bench/api.ts).
    batched: true,
  });
  const registry = await ModelRegistry.load({
    dir: config.MLMON_API_MODEL_DIR,
    retrainedDir: config.MLMON_API_RETRAINED_MODEL_DIR,
    active: config.MLMON_API_ACTIVE_MODEL,
    ...(config.MLMON_API_MODEL_STATE_FILE ? { stateFile: config.MLMON_API_MODEL_STATE_FILE } : {}),
    onLoaded: ({ card, ood }) => {
      // Said once per version, so that a missing score is explained where an operator looks first.
      if (!ood) void log.write('mlmon.app', 'warn', `model ${card.name} ${card.version} has no reference.json: its predictions carry no out-of-distribution score`, {});
      else if (!config.MLMON_API_OOD_SCORE) void log.write('mlmon.app', 'info', `model ${card.name} ${card.version}: out-of-distribution score off (MLMON_API_OOD_SCORE=false)`, {});
    },
  });
  const state: ReplicaState = { draining: false, inFlight: 0 };
  const privacy = createPrivacy(config);
  const shadow = createShadow({ config, registry, log, privacy });
  const app = createApp({ config, registry, log, state, privacy, shadow });
  const sampler = startResourceSampler({
    log,
    intervalMs: config.MLMON_API_RESOURCE_INTERVAL,
    extra: () => {
      const copies = shadow.counters();
      return { in_flight_requests: state.inFlight, ...(copies ? { shadow: copies } : {}) };
    },
  });
  return {
    app,
    log,
    registry,
    state,
    async close() {
      sampler.stop();
      registry.close();
      await log.close();
    },
  };
}
