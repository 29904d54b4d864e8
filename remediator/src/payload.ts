import { z } from 'zod';
import { ALERT_SEVERITIES, REMEDIATION_HOOKS } from '@mlmon/contract';
import { positiveDuration } from '@mlmon/runtime';

type Hooks = typeof REMEDIATION_HOOKS;
/** The webhook paths and the remediation each stands for (the event contract's action names). */
export const HOOKS = Object.fromEntries(Object.entries(REMEDIATION_HOOKS).map(([action, hook]) => [hook, action])) as { [A in keyof Hooks as Hooks[A]]: A };
export type Hook = keyof typeof HOOKS;
export type Action = (typeof HOOKS)[Hook];

// A mustache template renders numbers as text; a quoted "0.93" is as good as 0.93.
const numeric = z.union([z.number(), z.string().trim().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number').transform(Number)]).pipe(z.number().finite());

const base = {
  /** The rule that fired. */
  watch_id: z.string().min(1).max(256),
  /** Unique per alert execution: the idempotency key, and the link from the alert to every decision about it. */
  execution_id: z.string().min(1).max(512),
  /** The alert event's id (mlmon.alert.id), when the caller has one besides the execution id. */
  alert_id: z.string().min(1).max(512).optional(),
  severity: z.enum(ALERT_SEVERITIES),
  /** The observed value that crossed the threshold. */
  value: numeric,
  threshold: numeric,
};

/**
 * What every webhook accepts (unknown members are ignored, so a rule may send
 * more). `target` is what to act on: a replica id for restart-replica;
 * `canary`, `active` or a model version for rollback; the shadow version for promote; ignored by scale, whose
 * target is the configured deployment; optional for retrain.
 */
export const alertPayload = z.object({
  ...base,
  target: z.string().min(1).max(256).optional(),
  /** Scale only: replicas to add or remove, instead of MLMON_REMEDIATOR_SCALE_STEP. */
  step: z.number().int().min(1).max(16).optional(),
  /**
   * Scale-in reads these three (other rules send the first two as they like):
   * the rule's window (`15m`), the tick that read it and the window's first
   * prediction, to tell a window covered by traffic from one that began before it.
   */
  window: z.string().optional(),
  scheduled_time: z.string().optional(),
  first_prediction: z.string().optional(),
});

// Watcher renders a time as java.time does, without seconds when they are zero (`2026-12-06T14:45Z`), which z.iso.datetime refuses.
const instant = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, 'must be an ISO 8601 date-time')
  .transform((t) => Date.parse(t))
  .pipe(z.number().finite('must be an ISO 8601 date-time'));

/** The scale-in alert's window as times, or why it cannot be read: a rule that sends them must send them right. */
export const scaleInWindow = z.object({
  window: positiveDuration,
  scheduled_time: instant,
  // Empty when the window held no prediction (the mustache renders nothing).
  first_prediction: z.union([instant, z.literal('').transform(() => undefined)]).optional(),
});
export type AlertPayload = z.infer<typeof alertPayload>;

const needsTarget = alertPayload.extend({ target: z.string().min(1).max(256) });

export function payloadSchema(hook: Hook): z.ZodType<AlertPayload> {
  return hook === 'rollback' || hook === 'restart-replica' || hook === 'promote' ? needsTarget : alertPayload;
}

/**
 * The body a Watcher webhook action (or the rule runner, which renders the
 * same mustache) sends: `ctx.id` is the execution id, `ctx.watch_id` the rule.
 * `value` points at whatever the rule's condition compared.
 */
export function webhookBodyTemplate(opts: { severity: (typeof ALERT_SEVERITIES)[number]; value: string; threshold: number; target?: string }): string {
  return JSON.stringify({
    watch_id: '{{ctx.watch_id}}',
    execution_id: '{{ctx.id}}',
    severity: opts.severity,
    value: `{{${opts.value}}}`,
    threshold: opts.threshold,
    ...(opts.target === undefined ? {} : { target: opts.target }),
  });
}
