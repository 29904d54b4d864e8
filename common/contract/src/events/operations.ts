import { z } from 'zod';
import { ecsEvent, httpRequestId, isoTimestamp, modelRef } from './ecs.js';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const REMEDIATION_ACTIONS = ['scale_out', 'scale_in', 'rollback', 'restart', 'retrain', 'promote'] as const;
export type RemediationAction = (typeof REMEDIATION_ACTIONS)[number];
/** The remediator's webhook of each action: `POST /v1/hooks/<hook>`. */
export const REMEDIATION_HOOKS = {
  scale_out: 'scale-out',
  scale_in: 'scale-in',
  rollback: 'rollback',
  restart: 'restart-replica',
  retrain: 'retrain',
  promote: 'promote',
} as const satisfies Record<RemediationAction, string>;

export const alertEvent = ecsEvent('mlmon.alert', {
  mlmon: {
    model: modelRef.optional(),
    alert: z.strictObject({
      // The execution id of the rule run that fired (Watcher's `ctx.id`); remediation events carry it as alert_id.
      id: z.string().min(1),
      rule: z.string().min(1),
      severity: z.enum(ALERT_SEVERITIES),
      state: z.enum(['firing', 'resolved']),
      // Absent only when the rule's observed value is not a number (a rule without data to report).
      value: z.number().optional(),
      threshold: z.number().optional(),
      action: z.enum(REMEDIATION_ACTIONS).optional(),
      // The search window the value covers, e.g. 5m.
      window: z.string().min(1).optional(),
      // What the alert concerns: a replica, a model version.
      target: z.string().min(1).optional(),
      runbook: z.string().min(1).optional(),
      scheduled_time: isoTimestamp.optional(),
      // What each of the rule's actions did on this firing.
      actions: z
        .array(
          z.strictObject({
            id: z.string().min(1),
            type: z.string().min(1),
            status: z.enum(['success', 'failure', 'throttled', 'acknowledged', 'condition_failed', 'simulated']),
            reason: z.string().optional(),
          }),
        )
        .optional(),
    }),
  },
});
export type AlertEvent = z.infer<typeof alertEvent>;

/**
 * What the remediator decided about one webhook call. Only `executed` changed
 * anything; `dry_run` is what would have been done; the retrain job reports
 * its stages as `started`, `finished`, then `registered` or `refused`.
 */
export const REMEDIATION_DECISIONS = ['executed', 'skipped_cooldown', 'duplicate', 'dry_run', 'refused', 'failed', 'started', 'finished', 'registered'] as const;

export const remediationEvent = ecsEvent('mlmon.remediation', {
  event: { outcome: z.enum(['success', 'failure', 'unknown']) },
  mlmon: {
    remediation: z.strictObject({
      action: z.enum(REMEDIATION_ACTIONS),
      decision: z.enum(REMEDIATION_DECISIONS),
      // Why a call was refused or skipped, as a code to aggregate on (at_max_replicas, rate_limited, flapping...).
      reason: z.string().min(1).optional(),
      // The alert that asked: the rule runner's (or Watcher's) execution id links the alert to every decision about it.
      alert_id: z.string().min(1).optional(),
      execution_id: z.string().min(1).optional(),
      watch_id: z.string().min(1).optional(),
      // What was acted on: a replica id, a model version, a deployment name.
      target: z.string().min(1),
      detail: z.string().optional(),
      dry_run: z.boolean(),
      replicas: z.strictObject({ before: z.number().int().nonnegative(), after: z.number().int().nonnegative() }).optional(),
      version: z.strictObject({ before: z.string().min(1).optional(), after: z.string().min(1).optional() }).optional(),
      // One retrain job's events share its id.
      job_id: z.string().min(1).optional(),
    }),
  },
});
export type RemediationEvent = z.infer<typeof remediationEvent>;

// The input field a rejected request got wrong, so bad clients can be found by field.
const appDetail = z.strictObject({ app: z.strictObject({ field: z.string().min(1) }) });

/** Operational lines of any service: startup, rejected input, failures. Most carry no `mlmon` object. */
export const appEvent = ecsEvent('mlmon.app', {
  ecs: {
    // ECS: `message` is the message alone, `stack_trace` the stack, `type` the class of the error.
    error: z.looseObject({ code: z.string().min(1), message: z.string(), type: z.string().optional(), stack_trace: z.string().optional() }).optional(),
    http: httpRequestId.optional(),
  },
  mlmon: appDetail.shape,
}).extend({ mlmon: appDetail.optional() });
export type AppEvent = z.infer<typeof appEvent>;
