import { z } from 'zod';
import { ALERT_SEVERITIES, REMEDIATION_HOOKS } from '@mlmon/contract';

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
