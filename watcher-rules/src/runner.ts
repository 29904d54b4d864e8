import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, type EventLog } from '@mlmon/runtime';
import { httpSend, type HttpSend } from './watcher/actions.js';
import { executionId } from './watcher/context.js';
import { parseInterval } from './watcher/duration.js';
import { executeWatch, isConnectionError, type Execution } from './watcher/execute.js';
import { AlertmanagerClient } from '@mlmon/alertmanager';
import { createRunnerLog, writeAlert } from './alerts.js';
import { tellAlertmanager } from './alertmanager.js';
import { deploymentOf, type RunnerConfig } from './config.js';
import { loadWatches, type LoadedWatch } from './load.js';
import { StateStore } from './state.js';
import type { WatchStatus } from './watcher/status.js';
import { retryWhileShardStarts, SHARD_RETRY } from './shard-retry.js';

export interface RunnerOptions {
  client?: Client;
  watches?: LoadedWatch[];
  send?: HttpSend;
  log?: EventLog;
  /** Called after every execution this runner made (tests, progress). */
  onExecution?: (e: Execution) => void;
  /** The runner's clock; tests replay a past period by shifting it. */
  clock?: () => number;
}

export interface RunnerStats {
  watches: number;
  executions: number;
  fired: number;
  failed: number;
  /** Ticks another runner had claimed. */
  skipped: number;
  elasticsearch: 'up' | 'down';
}

export interface Runner {
  readonly node: string;
  readonly watches: LoadedWatch[];
  stats(): RunnerStats;
  stop(): Promise<void>;
}

/** The next multiple of the interval after `now`: every runner computes the same ticks, which is what the lease compares. */
export const nextTick = (now: number, intervalMs: number) => Math.floor(now / intervalMs) * intervalMs + intervalMs;

/**
 * mlmon's rule runner: executes the watches with Watcher's semantics on any
 * cluster. Each watch runs on its interval; a tick is claimed through a lease
 * in Elasticsearch before it runs, so any number of runners execute each tick
 * once. While Elasticsearch is unreachable a tick is skipped (not queued), so
 * a recovery brings no burst of catch-up executions, and throttle and ack
 * state, kept in Elasticsearch, hold across the outage and restarts.
 */
export async function startRunner(config: RunnerConfig, o: RunnerOptions = {}): Promise<Runner> {
  // First: a CA file that cannot be read stops the runner before it opens anything.
  const send = o.send ?? httpSend(config.MLMON_RULES_WEBHOOK_CA_CERT);
  const client = o.client ?? createEsClient(config, { name: 'mlmon-rule-runner' });
  const ownsClient = !o.client;
  const node = config.MLMON_RULES_NODE;
  const log = o.log ?? createRunnerLog({ dir: config.MLMON_LOG_DIR, node, stdout: config.MLMON_LOG_STDOUT });
  const ownsLog = !o.log;
  let watches = o.watches ?? loadWatches({ dir: config.MLMON_RULES_DIR, deployment: deploymentOf(config) });
  if (config.MLMON_RULES_ONLY) {
    const unknown = config.MLMON_RULES_ONLY.filter((id) => !watches.some((w) => w.id === id));
    if (unknown.length) throw new Error(`MLMON_RULES_ONLY names unknown watches: ${unknown.join(', ')}`);
    watches = watches.filter((w) => config.MLMON_RULES_ONLY!.includes(w.id));
  }
  const store = new StateStore(client, config.MLMON_INDEX_PREFIX);
  const clock = o.clock ?? Date.now;
  const stats: RunnerStats = { watches: watches.length, executions: 0, fired: 0, failed: 0, skipped: 0, elasticsearch: 'up' };
  const say = (level: 'info' | 'warn' | 'error', message: string) => {
    void log.write('mlmon.app', level, message, {}).catch(() => {});
    (level === 'info' ? console.log : console.error)(`rule-runner: ${message}`);
  };
  if (!config.MLMON_REMEDIATOR_TOKEN) say('warn', 'MLMON_REMEDIATOR_TOKEN is not set: remediation webhooks are sent without a usable bearer token');

  const alertmanager = config.MLMON_ALERTMANAGER_URL ? new AlertmanagerClient(config.MLMON_ALERTMANAGER_URL) : undefined;
  let alertmanagerFailing = false;
  const alertmanagerResult = (err: Error | undefined) => {
    if (err && !alertmanagerFailing) say('warn', `Alertmanager at ${alertmanager!.url}: ${err.message}; alerts are sent again at every tick`);
    if (!err && alertmanagerFailing) say('info', `Alertmanager at ${alertmanager!.url} takes alerts again`);
    alertmanagerFailing = err !== undefined;
  };
  const intervalOf = (w: LoadedWatch) => config.MLMON_RULES_INTERVAL ?? parseInterval(w.body.trigger.schedule.interval);

  let ensured = false;
  const esDown = (err: unknown) => {
    if (stats.elasticsearch === 'up') say('warn', `Elasticsearch unreachable (${(err as Error).message}); rules wait and resume at their next tick`);
    stats.elasticsearch = 'down';
  };
  const esUp = () => {
    if (stats.elasticsearch === 'down') say('info', 'Elasticsearch reachable again; rules resume');
    stats.elasticsearch = 'up';
  };

  const running = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  // The state and history indices may be in creation (by another runner, or at midnight): wait for them within the tick.
  const starting = <T>(what: string, fn: () => Promise<T>) =>
    retryWhileShardStarts(fn, { ...SHARD_RETRY, onRetry: (n) => say('info', `${what}: an index is being created; retry ${n} of ${SHARD_RETRY.backoffMs.length}`) });

  const unsaved = new Map<string, WatchStatus>();
  async function tick(w: LoadedWatch, scheduled: number, triggered: number): Promise<void> {
    if (running.has(w.id)) {
      say('warn', `${w.id}: the execution for the previous tick is still running; tick ${new Date(scheduled).toISOString()} skipped`);
      return;
    }
    running.add(w.id);
    try {
      if (!ensured) {
        await starting('state index', () => store.ensure());
        ensured = true;
      }
      const claim = await starting(w.id, () => store.claim(w.id, scheduled, node));
      esUp();
      if (!claim) {
        stats.skipped += 1;
        return;
      }
      // A status whose save failed (Elasticsearch went away right after the actions ran) is the
      // truth, not the older one the cluster still holds: without it, a throttled action repeats.
      const status = unsaved.get(w.id) ?? claim.status;
      const now = clock();
      const e = await executeWatch({
        watchId: w.id,
        watch: w.body,
        executionId: executionId(w.id, randomUUID(), now),
        times: { scheduledTime: scheduled, triggeredTime: triggered, executionTime: now },
        now,
        clock,
        node,
        status,
        mode: 'execute',
        client,
        actions: {
          send,
          delivery: { retries: config.MLMON_RULES_WEBHOOK_RETRIES, backoffMs: config.MLMON_RULES_WEBHOOK_BACKOFF },
          log: (level, text) => say(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info', `[${w.id}] ${text}`),
        },
      });
      // The alert goes to the local log whatever Elasticsearch does: its actions have run.
      if (e.fired) {
        stats.fired += 1;
        await writeAlert(log, e);
      }
      // Then the status: once actions ran, their throttle state must outlive this process and an
      // outage, so a failed save is kept and saved with the next tick's claim.
      try {
        await starting(w.id, () => claim.save(status));
        unsaved.delete(w.id);
      } catch (err) {
        unsaved.set(w.id, status);
        throw err;
      }
      // Every tick, firing or not: a firing alert's endsAt moves ahead, a cleared one ends now.
      if (alertmanager) alertmanagerResult(await tellAlertmanager({ am: alertmanager, store, watch: w, execution: e, before: claim.notified, now, tickMs: intervalOf(w) }));
      await starting(w.id, () => store.record(e.record, scheduled));
      stats.executions += 1;
      if (e.record.state === 'failed') {
        stats.failed += 1;
        say('error', `${w.id}: ${e.record.messages.join('; ')}`);
      }
      o.onExecution?.(e);
    } catch (err) {
      if (isConnectionError(err)) esDown(err);
      else {
        stats.failed += 1;
        say('error', `${w.id}: tick ${new Date(scheduled).toISOString()} failed: ${(err as Error).message}`);
      }
    } finally {
      running.delete(w.id);
    }
  }

  const schedule = (w: LoadedWatch) => {
    const scheduled = nextTick(clock(), intervalOf(w));
    timers.set(
      w.id,
      setTimeout(() => {
        if (stopped) return;
        schedule(w);
        const p = tick(w, scheduled, clock());
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }, scheduled - clock()),
    );
  };
  for (const w of watches) schedule(w);

  const status = setInterval(() => {
    const s = stats;
    say('info', `${s.watches} rules, ${s.executions} executions, ${s.fired} fired, ${s.failed} failed, ${s.skipped} ticks run by another runner; Elasticsearch ${s.elasticsearch}`);
  }, config.MLMON_RULES_STATUS_INTERVAL);
  status.unref();
  say('info', `running ${watches.length} rules as ${node} (prefix "${config.MLMON_INDEX_PREFIX}", alerts in ${log.file})`);

  return {
    node,
    watches,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      clearInterval(status);
      await Promise.allSettled([...inFlight]);
      if (ownsLog) await log.close();
      if (ownsClient) await client.close();
    },
  };
}
