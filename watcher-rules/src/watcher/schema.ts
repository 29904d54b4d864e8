import type { estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import { ALERT_SEVERITIES, REMEDIATION_ACTIONS } from '@mlmon/contract';
import { parseInterval, parseTimeValue } from './duration.js';

/**
 * The part of the Watcher API a watch may use here, as zod schemas: what both
 * executors (Watcher and mlmon's runner) run the same way. Every schema's
 * output is held to the client's own Watcher types below, so a watch that
 * loads is a body `PUT _watcher/watch/<id>` accepts.
 */

const parsedBy = (parse: (value: string, field: string) => number) =>
  z.string().check((ctx) => {
    try {
      parse(ctx.value, '');
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input: ctx.value });
    }
  });
/** Throttle periods and timeouts (Watcher's parseTimeValue); the schedule's interval has a parser of its own. */
const duration = parsedBy(parseTimeValue);
const interval = parsedBy(parseInterval);

export const COMPARE_OPS = ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
const fieldValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const one = (what: string) => (v: Record<string, unknown>) => Object.keys(v).length === 1 || `${what}: exactly one is required`;
const refineOne = <T extends Record<string, unknown>>(what: string) => (v: T, ctx: z.core.$RefinementCtx<T>) => {
  const r = one(what)(v);
  if (r !== true) ctx.addIssue({ code: 'custom', message: r });
};

const compareCondition = z
  .record(
    z.string().min(1),
    // Watcher also lets eq and not_eq compare maps and lists; the client's types (and so these watches) keep to plain values.
    z.partialRecord(z.enum(COMPARE_OPS), fieldValue).superRefine(refineOne('comparison operator (eq, not_eq, gt, gte, lt, lte)')),
  )
  .superRefine(refineOne('compared path'));

// Watcher defaults path to "" (the element itself) and quantifier to some; the client's types require
// both, so the loaded watch carries them filled in, and Watcher reads that body the same way.
const arrayCompareOp = z.strictObject({ value: fieldValue, quantifier: z.enum(['all', 'some']).default('some') });
const arrayCompareCondition = z
  .record(
    z.string().min(1),
    z
      .object({ path: z.string().default('') })
      .catchall(arrayCompareOp)
      .superRefine((v, ctx) => {
        const ops = Object.keys(v).filter((k) => k !== 'path');
        const unknown = ops.filter((k) => !(COMPARE_OPS as readonly string[]).includes(k));
        if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown comparison operator [${unknown[0]}]` });
        else if (ops.length !== 1) ctx.addIssue({ code: 'custom', message: 'exactly one comparison operator is required' });
      }),
  )
  .superRefine(refineOne('array path'));

export const conditionSchema = z.union([
  z.strictObject({ always: z.strictObject({}) }),
  z.strictObject({ never: z.strictObject({}) }),
  z.strictObject({ compare: compareCondition }),
  z.strictObject({ array_compare: arrayCompareCondition }),
]);

const searchRequest = z.strictObject({
  indices: z.array(z.string().min(1)).min(1),
  body: z.custom<estypes.WatcherSearchInputRequestBody>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a search body object').optional(),
  template: z
    .strictObject({ source: z.string(), params: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  rest_total_hits_as_int: z.boolean().optional(),
  search_type: z.enum(['query_then_fetch', 'dfs_query_then_fetch']).optional(),
  indices_options: z.custom<estypes.IndicesOptions>((v) => typeof v === 'object' && v !== null).optional(),
}).refine((r) => (r.body === undefined) !== (r.template === undefined), 'a search request needs exactly one of body or template');

const searchInput = z.strictObject({ request: searchRequest, extract: z.array(z.string().min(1)).optional(), timeout: duration.optional() });

type Input = { search: z.infer<typeof searchInput> } | { simple: Record<string, unknown> } | { chain: { inputs: Array<Record<string, Input>> } };
export const inputSchema: z.ZodType<Input> = z.lazy(() =>
  z.union([
    z.strictObject({ search: searchInput }),
    z.strictObject({ simple: z.record(z.string(), z.unknown()) }),
    z.strictObject({ chain: z.strictObject({ inputs: z.array(z.record(z.string(), inputSchema).superRefine(refineOne('chained input name'))).min(1) }) }),
  ]),
);

type Transform = { search: { request: z.infer<typeof searchRequest>; timeout: string } } | { chain: Transform[] };
export const transformSchema: z.ZodType<Transform> = z.lazy(() =>
  z.union([
    // The client's types require the timeout of a search transform, so watches here state it.
    z.strictObject({ search: z.strictObject({ request: searchRequest, timeout: duration }) }),
    z.strictObject({ chain: z.array(transformSchema).min(1) }),
  ]),
);

const webhook = z
  .strictObject({
    scheme: z.enum(['http', 'https']).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    url: z.string().min(1).optional(),
    method: z.enum(['head', 'get', 'post', 'put', 'delete']).optional(),
    path: z.string().optional(),
    params: z.record(z.string(), z.string()).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    auth: z.strictObject({ basic: z.strictObject({ username: z.string(), password: z.string() }) }).optional(),
    connection_timeout: duration.optional(),
    read_timeout: duration.optional(),
  })
  .refine((w) => w.url !== undefined || (w.host !== undefined && w.port !== undefined), 'a webhook needs a url, or a host and a port');

const indexAction = z.strictObject({
  index: z.string().min(1),
  doc_id: z.string().optional(),
  op_type: z.enum(['index', 'create']).optional(),
  refresh: z.union([z.boolean(), z.enum(['true', 'false', 'wait_for'])]).optional(),
  execution_time_field: z.string().optional(),
  timeout: duration.optional(),
});

const loggingAction = z.strictObject({ text: z.string(), level: z.enum(['error', 'warn', 'info', 'debug', 'trace']).optional(), category: z.string().optional() });

export const ACTION_TYPES = ['webhook', 'index', 'logging'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

const action = z
  .strictObject({
    throttle_period: duration.optional(),
    throttle_period_in_millis: z.number().int().nonnegative().optional(),
    condition: conditionSchema.optional(),
    transform: transformSchema.optional(),
    webhook: webhook.optional(),
    index: indexAction.optional(),
    logging: loggingAction.optional(),
  })
  .refine((a) => ACTION_TYPES.filter((t) => a[t] !== undefined).length === 1, 'an action needs exactly one of webhook, index or logging');

/**
 * mlmon's conventions in a watch's metadata (Watcher keeps metadata as is and
 * offers it to templates as ctx.metadata): what the rule is, its thresholds,
 * and what to do when it fires. Thresholds live here and nowhere else: the
 * search and the condition read them through `{{ctx.metadata.…}}`.
 */
export const metadataSchema = z.looseObject({
  name: z.string().min(1),
  /** The query in words, for the README. */
  description: z.string().min(1),
  severity: z.enum(ALERT_SEVERITIES),
  /** What the remediator should do; absent for rules that only notify. */
  remediation: z.enum(REMEDIATION_ACTIONS).optional(),
  runbook: z.string().regex(/^docs\/runbooks\/[a-z0-9-]+\.md$/, 'must be docs/runbooks/<id>.md'),
  /** The value the condition compares with, and why that value (README). */
  threshold: z.union([z.number(), z.string()]),
  threshold_why: z.string().min(1),
  unit: z.string().min(1),
  /** The search window, e.g. 5m. */
  window: z.string().min(1),
  /** A path into ctx for the value the alert reports, when it is not the condition's compared value. */
  observed: z.string().startsWith('ctx.').optional(),
  /** A mustache template naming what the alert concerns (replica, model version). */
  target: z.string().optional(),
});
export type WatchMetadata = z.infer<typeof metadataSchema>;

export const watchSchema = z.strictObject({
  trigger: z.strictObject({ schedule: z.strictObject({ interval }) }),
  input: inputSchema,
  condition: conditionSchema,
  transform: transformSchema.optional(),
  actions: z.record(z.string().regex(/^[a-z0-9_-]+$/, 'action ids are lowercase letters, digits, "_" or "-"'), action),
  throttle_period: duration.optional(),
  throttle_period_in_millis: z.number().int().nonnegative().optional(),
  metadata: metadataSchema,
});

export type WatchBody = z.infer<typeof watchSchema>;
export type Condition = z.infer<typeof conditionSchema>;
export type SearchRequest = z.infer<typeof searchRequest>;
export type WatchInput = Input;
export type WatchTransform = Transform;
export type WatchAction = WatchBody['actions'][string];
export type WebhookAction = NonNullable<WatchAction['webhook']>;

// The loaded watch is a body the client sends to PUT _watcher/watch: a type error here means the schema accepts something Watcher does not.
export const asPutWatchBody = (w: WatchBody): Omit<estypes.WatcherPutWatchRequest, 'id'> => w;
