import { z } from 'zod';
import { ecsEvent, httpRequestId, modelRef } from './ecs.js';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const REMEDIATION_ACTIONS = ['scale_out', 'scale_in', 'rollback', 'restart', 'retrain'] as const;

export const alertEvent = ecsEvent('mlmon.alert', {
  mlmon: {
    model: modelRef.optional(),
    alert: z.strictObject({
      id: z.string().min(1),
      rule: z.string().min(1),
      severity: z.enum(ALERT_SEVERITIES),
      state: z.enum(['firing', 'resolved']),
      value: z.number(),
      threshold: z.number(),
      action: z.enum(REMEDIATION_ACTIONS).optional(),
    }),
  },
});
export type AlertEvent = z.infer<typeof alertEvent>;

export const remediationEvent = ecsEvent('mlmon.remediation', {
  event: { outcome: z.enum(['success', 'failure', 'unknown']) },
  mlmon: {
    remediation: z.strictObject({
      action: z.enum(REMEDIATION_ACTIONS),
      alert_id: z.string().min(1).optional(),
      // What was acted on: a replica id, a model version, a deployment name.
      target: z.string().min(1),
      detail: z.string().optional(),
      replicas: z.strictObject({ before: z.number().int().nonnegative(), after: z.number().int().nonnegative() }).optional(),
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
