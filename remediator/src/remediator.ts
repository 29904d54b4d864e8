import { formatDuration, type EventLog } from '@mlmon/runtime';
import type { RemediatorConfig } from './config.js';
import { ModelAdminRefusal, type ModelAdmin } from './models.js';
import { scaleInWindow, type Action, type AlertPayload } from './payload.js';
import { UnknownReplicaError, UnsupportedError, type Scaler } from './backends/scaler.js';
import type { DecisionRecord, RemediatorState } from './state.js';
import { stabilizedScaleIn } from './stabilization.js';

export type Decision = DecisionRecord;

/** What an action would do, worked out from the engine's current state before anything changes. */
interface Plan {
  target: string;
  detail: string;
  replicas?: { before: number; after: number };
  version?: { before?: string; after?: string };
  /** Carries the plan out; returns what changed from the plan (the count the engine reports, the version it chose). */
  run(): Promise<Partial<Pick<Plan, 'detail' | 'replicas' | 'version'>> & { job_id?: string }>;
}

interface Refusal {
  refused: string;
  target: string;
  detail: string;
  replicas?: { before: number; after: number };
}

/** The retrain job, started by a `retrain` decision; it reports its own later stages through `report`. */
export interface RetrainStarter {
  /** The job under way, if any: one at a time. */
  running(): string | undefined;
  start(alert: AlertPayload, report: (stage: Omit<Decision, 'at' | 'action' | 'execution_id' | 'watch_id' | 'dry_run'>) => Promise<void>): { jobId: string; detail: string };
}

export interface RemediatorDeps {
  config: RemediatorConfig;
  state: RemediatorState;
  log: EventLog;
  scaler: Scaler | undefined;
  models: ModelAdmin | undefined;
  retrain: RetrainStarter | undefined;
}

const OUTCOME: Record<Decision['decision'], 'success' | 'failure' | 'unknown'> = {
  executed: 'success',
  started: 'success',
  finished: 'success',
  registered: 'success',
  failed: 'failure',
  refused: 'unknown',
  skipped_cooldown: 'unknown',
  duplicate: 'unknown',
  dry_run: 'unknown',
};

/**
 * Turns an alert into at most one action, safely: the same execution twice is
 * answered from memory; a cooldown per action and target, a limit per hour,
 * min/max replicas and a flap window can each refuse; a dry run stops before
 * the engine is touched. Decisions are made one at a time, so two deliveries
 * of one alert racing each other still cause one action.
 */
export class Remediator {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: RemediatorDeps) {}

  handle(action: Action, alert: AlertPayload): Promise<Decision> {
    return this.enqueue(() => this.decide(action, alert));
  }

  /** Decisions, and a retrain job's later stages, are recorded one at a time: one state file, one order. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  recent(limit?: number): Decision[] {
    return this.d.state.recent(limit);
  }

  private async decide(action: Action, alert: AlertPayload): Promise<Decision> {
    const { config, state } = this.d;
    const base = { action, execution_id: alert.execution_id, watch_id: alert.watch_id, alert_id: alert.alert_id, dry_run: config.MLMON_REMEDIATOR_DRY_RUN };
    const seen = state.seen(alert.execution_id);
    // A failed attempt changed nothing, so a redelivery may try again.
    if (seen && seen.decision !== 'failed') {
      return this.record({ ...base, decision: 'duplicate', reason: `already_${seen.decision}`, target: alert.target ?? '-', detail: `execution ${alert.execution_id} was answered at ${seen.at} (${seen.decision})` }, false);
    }

    let plan: Plan | Refusal;
    try {
      plan = await this.plan(action, alert);
    } catch (err) {
      return this.record({ ...base, decision: 'failed', reason: 'plan_failed', target: alert.target ?? '-', detail: (err as Error).message }, true);
    }
    // The history speaks first: a scale-in refused for flapping says so even when it would also be at the minimum.
    const guard = this.guard(action, plan.target);
    if (guard) return this.record({ ...base, target: plan.target, replicas: plan.replicas, ...('refused' in plan ? {} : { version: plan.version }), ...guard }, true);
    if ('refused' in plan) {
      const { refused, ...rest } = plan;
      return this.record({ ...base, ...rest, decision: 'refused', reason: refused }, true);
    }
    if (config.MLMON_REMEDIATOR_DRY_RUN) {
      return this.record({ ...base, decision: 'dry_run', target: plan.target, detail: `would ${plan.detail}`, replicas: plan.replicas, version: plan.version }, true);
    }
    try {
      const done = await plan.run();
      const decision = action === 'retrain' ? 'started' : 'executed';
      return this.record({ ...base, decision, target: plan.target, detail: plan.detail, replicas: plan.replicas, version: plan.version, ...done }, true);
    } catch (err) {
      if (err instanceof ModelAdminRefusal || err instanceof UnknownReplicaError || err instanceof UnsupportedError) {
        const reason = err instanceof ModelAdminRefusal ? err.code : err instanceof UnknownReplicaError ? 'unknown_replica' : 'unsupported';
        return this.record({ ...base, decision: 'refused', reason, target: plan.target, detail: err.message }, true);
      }
      return this.record({ ...base, decision: 'failed', reason: 'action_failed', target: plan.target, detail: `${plan.detail}: ${(err as Error).message}`, replicas: plan.replicas, version: plan.version }, true);
    }
  }

  /** Cooldown, flapping and the hourly limit, from the remembered actions. */
  private guard(action: Action, target: string): Pick<Decision, 'decision' | 'reason' | 'detail'> | undefined {
    const { config, state } = this.d;
    const now = Date.now();
    const last = state.actedSince(now - config.MLMON_REMEDIATOR_COOLDOWN).findLast((d) => d.action === action && d.target === target);
    if (last) {
      const left = Math.ceil((Date.parse(last.at) + config.MLMON_REMEDIATOR_COOLDOWN - now) / 1000);
      return { decision: 'skipped_cooldown', reason: 'cooldown', detail: `${action} on ${target} ${last.decision === 'dry_run' ? 'was dry-run' : 'ran'} at ${last.at}; cooldown ${formatDuration(config.MLMON_REMEDIATOR_COOLDOWN)}, ${left} s left` };
    }
    const opposite = action === 'scale_out' ? 'scale_in' : action === 'scale_in' ? 'scale_out' : undefined;
    const flap = opposite && state.actedSince(now - config.MLMON_REMEDIATOR_FLAP_WINDOW).findLast((d) => d.action === opposite && d.target === target);
    if (flap) {
      return { decision: 'refused', reason: 'flapping', detail: `${opposite} on ${target} at ${flap.at} is within the flap window of ${formatDuration(config.MLMON_REMEDIATOR_FLAP_WINDOW)}` };
    }
    const lastHour = state.actedSince(now - 3_600_000);
    if (lastHour.length >= config.MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR) {
      return { decision: 'refused', reason: 'rate_limited', detail: `${lastHour.length} actions in the last hour; the limit is ${config.MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR} (MLMON_REMEDIATOR_MAX_ACTIONS_PER_HOUR)` };
    }
    return undefined;
  }

  private async plan(action: Action, alert: AlertPayload): Promise<Plan | Refusal> {
    switch (action) {
      case 'scale_out':
      case 'scale_in':
        return this.planScale(action, alert);
      case 'restart': {
        const scaler = this.need('scaler', alert);
        const replica = alert.target!;
        return { target: replica, detail: `restart ${replica}`, run: async () => (await scaler.restart(replica), {}) };
      }
      case 'rollback':
        return this.planRollback(alert);
      case 'promote':
        return this.planPromote(alert);
      case 'retrain': {
        const retrain = this.need('retrain', alert);
        const target = alert.target ?? 'model';
        const running = retrain.running();
        if (running) return { refused: 'retrain_running', target, detail: `retrain job ${running} is still running` };
        return {
          target,
          detail: 'retrain on recent labeled production data',
          run: async () => {
            const job = retrain.start(alert, (stage) =>
              this.enqueue(() => this.record({ ...stage, action: 'retrain', execution_id: alert.execution_id, watch_id: alert.watch_id, alert_id: alert.alert_id, dry_run: false }, false)).then(() => {}),
            );
            return { job_id: job.jobId, detail: job.detail };
          },
        };
      }
    }
  }

  private need<K extends 'scaler' | 'models' | 'retrain'>(what: K, alert: AlertPayload): NonNullable<RemediatorDeps[K]> {
    const dep = this.d[what];
    if (!dep) throw new Error(`no ${what} configured for ${alert.watch_id} (see the remediator README: ${what === 'models' ? 'MLMON_API_URL and MLMON_API_ADMIN_TOKEN' : what === 'scaler' ? 'MLMON_REMEDIATOR_BACKEND' : 'MLMON_ES_URL and MLMON_API_URL'})`);
    return dep as NonNullable<RemediatorDeps[K]>;
  }

  private async planScale(action: 'scale_out' | 'scale_in', alert: AlertPayload): Promise<Plan | Refusal> {
    const { config } = this.d;
    if (config.MLMON_REMEDIATOR_SCALE_OWNER === 'external') {
      // Two controllers setting one replica count undo each other's work; the autoscaler's own metrics already answer load.
      const target = this.d.scaler?.target ?? 'replicas';
      return { refused: 'scale_owner_external', target, detail: `MLMON_REMEDIATOR_SCALE_OWNER is external: an autoscaler owns the replica count of ${target}, so ${action} is left to it` };
    }
    const scaler = this.need('scaler', alert);
    const before = await scaler.replicas();
    const step = alert.step ?? config.MLMON_REMEDIATOR_SCALE_STEP;
    const min = config.MLMON_REMEDIATOR_MIN_REPLICAS;
    const max = config.MLMON_REMEDIATOR_MAX_REPLICAS;
    if (action === 'scale_in') {
      const uncovered = uncoveredWindow(alert);
      // Not a recommendation at all (HPA likewise skips a metric it cannot read): it is not remembered.
      if (uncovered) return { refused: 'window_not_covered', target: scaler.target, detail: uncovered, replicas: { before, after: before } };
    }
    const desired = action === 'scale_out' ? Math.min(max, before + step) : Math.max(min, before - step);
    const now = Date.now();
    const history = this.d.state.recommendations();
    // Remembered whatever becomes of this alert (a cooldown, a dry run): as in HPA, a high recommendation holds the count up even when it moved nothing.
    this.d.state.recommend({ at: new Date(now).toISOString(), target: scaler.target, desired });
    if (desired === before) {
      return {
        refused: action === 'scale_out' ? 'at_max_replicas' : 'at_min_replicas',
        target: scaler.target,
        detail: `${before} replicas already at the ${action === 'scale_out' ? `maximum ${max} (MLMON_REMEDIATOR_MAX_REPLICAS)` : `minimum ${min} (MLMON_REMEDIATOR_MIN_REPLICAS)`}`,
        replicas: { before, after: before },
      };
    }
    let after = desired;
    if (action === 'scale_in') {
      const windowMs = config.MLMON_REMEDIATOR_SCALE_IN_STABILIZATION;
      const stable = stabilizedScaleIn({ current: before, desired, target: scaler.target, history, now, windowMs });
      if (stable.replicas >= before) {
        const held = stable.heldBy!;
        return {
          refused: 'stabilizing',
          target: scaler.target,
          detail: `${held.desired} replicas were recommended at ${held.at}, within the scale-in stabilization window of ${formatDuration(windowMs)} (MLMON_REMEDIATOR_SCALE_IN_STABILIZATION): ${before} replicas stay`,
          replicas: { before, after: before },
        };
      }
      after = stable.replicas;
    }
    return {
      target: scaler.target,
      detail: `scale ${scaler.target} from ${before} to ${after} replicas`,
      replicas: { before, after },
      run: async () => ({ replicas: { before, after: await scaler.scaleTo(after) } }),
    };
  }

  /** `target` names the misbehaving model: `canary`, `active`, or a version that is one of them. */
  private async planRollback(alert: AlertPayload): Promise<Plan | Refusal> {
    const models = this.need('models', alert);
    const serving = await models.serving();
    const target = alert.target!;
    const canary = serving.canary?.version;
    if (target === 'canary' || (canary !== undefined && target === canary)) {
      if (canary === undefined) return { refused: 'no_canary', target, detail: 'no canary is serving; nothing to remove' };
      return { target: canary, detail: `remove canary ${canary} (weight ${serving.canary!.weight}% to 0)`, version: { before: canary }, run: async () => (await models.removeCanary(canary), {}) };
    }
    if (target === 'active' || target === serving.active) {
      const active = serving.active;
      if (serving.rollback_to === null) return { refused: 'no_previous_version', target: active, detail: `no earlier good version to replace active ${active} with` };
      return {
        target: active,
        detail: `replace active ${active} by the previous good version ${serving.rollback_to}`,
        version: { before: active, after: serving.rollback_to },
        run: async () => {
          const now = await models.rollbackActive(active);
          return { version: { before: active, after: now } };
        },
      };
    }
    return { refused: 'not_serving', target, detail: `version ${target} is neither active (${serving.active}) nor the canary (${canary ?? 'none'})` };
  }

  /** `target` names the shadow version judged better; it becomes the canary, and the canary rules then guard it. */
  private async planPromote(alert: AlertPayload): Promise<Plan | Refusal> {
    const models = this.need('models', alert);
    const serving = await models.serving();
    const target = alert.target!;
    const shadow = serving.shadow?.version;
    if (shadow === undefined) return { refused: 'no_shadow', target, detail: 'no shadow is set; nothing to promote' };
    if (shadow !== target) return { refused: 'not_shadow', target, detail: `version ${target} is not the shadow (${shadow} is)` };
    if (serving.canary) return { refused: 'canary_present', target, detail: `canary ${serving.canary.version} is serving (${serving.canary.weight}%); it is left to finish before a shadow is promoted` };
    const weight = this.d.config.MLMON_REMEDIATOR_PROMOTE_WEIGHT;
    return {
      target,
      detail: `make shadow ${target} the canary at ${weight}% (MLMON_REMEDIATOR_PROMOTE_WEIGHT) and clear the shadow`,
      // The canary it becomes (there was none).
      version: { after: target },
      run: async () => (await models.promoteShadow(target, weight), {}),
    };
  }

  private async record(d: Omit<Decision, 'at'> & { alert_id?: string | undefined }, answers: boolean): Promise<Decision> {
    const { alert_id, ...rest } = d;
    const decision: Decision = { ...rest, at: new Date().toISOString() };
    for (const k of Object.keys(decision) as Array<keyof Decision>) if (decision[k] === undefined) delete decision[k];
    await this.d.state.record(decision, { answers });
    const level = decision.decision === 'failed' ? 'error' : decision.decision === 'refused' ? 'warn' : 'info';
    await this.d.log.write('mlmon.remediation', level, `${decision.action} ${decision.decision}${decision.reason ? ` (${decision.reason})` : ''}: ${decision.detail}`, {
      event: { outcome: OUTCOME[decision.decision] },
      mlmon: {
        remediation: {
          action: decision.action,
          decision: decision.decision,
          reason: decision.reason,
          alert_id: alert_id ?? decision.execution_id,
          execution_id: decision.execution_id,
          watch_id: decision.watch_id,
          target: decision.target,
          detail: decision.detail,
          dry_run: decision.dry_run,
          replicas: decision.replicas,
          version: decision.version,
          job_id: decision.job_id,
        },
      },
    });
    return decision;
  }
}

/**
 * Why a scale-in alert's window does not speak for the traffic, if it does
 * not: its first prediction came after the window's first tenth, so part of
 * the window is idle time from before traffic began (a stack just started),
 * and a count over it says nothing about load. The remediator checks this,
 * not the rule, because Watcher's compare condition tests one value and the
 * rule's action condition already tests another (more replicas than the
 * minimum); the rule sends the figures. A window that starts with the traffic
 * is covered once it is full, which is when the rule's count means "per window".
 * A tenth, not a fixed minute, so a rule tuned to seconds (the tests) behaves as one of 15 minutes.
 * Alerts without these fields (a hand-made call) are taken as covered.
 */
function uncoveredWindow(alert: AlertPayload): string | undefined {
  if (alert.window === undefined && alert.scheduled_time === undefined && alert.first_prediction === undefined) return undefined;
  const parsed = scaleInWindow.safeParse(alert);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `the alert's window cannot be read (${issue.path.join('.')}: ${issue.message}), so whether traffic covered it is unknown`;
  }
  const { window, scheduled_time, first_prediction } = parsed.data;
  const start = scheduled_time - window;
  const slack = window / 10;
  if (first_prediction !== undefined && first_prediction <= start + slack) return undefined;
  const first = first_prediction === undefined ? 'no prediction in it' : `the first prediction at ${new Date(first_prediction).toISOString()}`;
  return `the ${formatDuration(window)} window from ${new Date(start).toISOString()} is not covered by traffic (${first}, later than its first ${slack / 1000} s): a scale-in is judged only on a window traffic fills`;
}
