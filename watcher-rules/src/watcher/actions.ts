import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Client } from '@elastic/elasticsearch';
import { Agent, fetch } from 'undici';
import { ConfigError } from '@mlmon/runtime';
import { parseTimeValue } from './duration.js';
import { renderTemplate } from './mustache.js';
import type { WatchAction, WebhookAction } from './schema.js';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}
export interface HttpResponse {
  status: number;
  body: string;
}
export type HttpSend = (req: HttpRequest) => Promise<HttpResponse>;

/** The PEM certificates of MLMON_RULES_WEBHOOK_CA_CERT, checked at start: a wrong path fails the runner, not every webhook later. */
function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('MLMON_RULES_WEBHOOK_CA_CERT', `cannot be read: ${(err as Error).message}`);
  }
  try {
    void new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError('MLMON_RULES_WEBHOOK_CA_CERT', `(${file}) does not start with a PEM certificate: ${(err as Error).message}`);
  }
  return pem;
}

/**
 * Webhook requests through undici, whose Agent takes the CAs to verify
 * receivers with. `caFile` is trusted besides the CAs Node ships, as Watcher's
 * xpack.http.ssl.certificate_authorities: `connect.ca` replaces the defaults,
 * so they are passed along with it.
 */
export function httpSend(caFile?: string): HttpSend {
  const dispatcher = caFile === undefined ? undefined : new Agent({ connect: { ca: [...rootCertificates, readCaFile(caFile)] } });
  return async (req) => {
    const res = await fetch(req.url, {
      method: req.method.toUpperCase(),
      headers: req.headers,
      ...(req.body === undefined ? {} : { body: req.body }),
      signal: AbortSignal.timeout(req.timeoutMs),
      ...(dispatcher ? { dispatcher } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
}

/** Trusting the system CAs only. */
export const fetchSend: HttpSend = httpSend();

/** Node's codes for a receiver certificate that no trusted CA vouches for. */
const UNTRUSTED_CERT = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** Why a request got no response, as the execution record keeps it. */
function failureReason(err: Error, req: HttpRequest): string {
  if (err.name === 'TimeoutError') return `timed out after ${req.timeoutMs} ms`;
  const cause = err.cause as (Error & { code?: string }) | undefined;
  if (cause?.code && UNTRUSTED_CERT.has(cause.code)) {
    return `TLS: the receiver's certificate is not trusted (${cause.code}: ${cause.message}); set MLMON_RULES_WEBHOOK_CA_CERT to the CA that signed it`;
  }
  return cause?.message ?? err.message;
}

/** Watcher's defaults for xpack.http.default_connection_timeout and default_read_timeout. */
const DEFAULT_TIMEOUT_MS = 10_000;

export function renderWebhook(w: WebhookAction, model: Record<string, unknown>): HttpRequest {
  const render = (t: string) => renderTemplate(t, model);
  let url: URL;
  if (w.url) url = new URL(render(w.url));
  else url = new URL(`${w.scheme ?? 'http'}://${w.host}:${w.port}`);
  if (w.path !== undefined) url.pathname = render(w.path);
  for (const [k, v] of Object.entries(w.params ?? {})) url.searchParams.set(k, render(v));
  const headers = Object.fromEntries(Object.entries(w.headers ?? {}).map(([k, v]) => [k.toLowerCase(), render(v)]));
  if (w.auth) headers.authorization = `Basic ${Buffer.from(`${w.auth.basic.username}:${w.auth.basic.password}`).toString('base64')}`;
  const timeoutMs =
    (w.connection_timeout ? parseTimeValue(w.connection_timeout) : DEFAULT_TIMEOUT_MS) + (w.read_timeout ? parseTimeValue(w.read_timeout) : DEFAULT_TIMEOUT_MS);
  return { method: w.method ?? 'get', url: url.toString(), headers, ...(w.body === undefined ? {} : { body: render(w.body) }), timeoutMs };
}

/** The request as the execution record keeps it: credentials are not written to an index. */
export function redacted(req: HttpRequest): HttpRequest {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, k === 'authorization' ? '::es_redacted::' : v]));
  return { ...req, headers };
}

export interface DeliveryPolicy {
  /** Extra attempts after a connection error, a timeout, 429 or a 5xx. Watcher itself does not retry. */
  retries: number;
  backoffMs: number;
}

const retryable = (status: number) => status === 429 || status >= 500;

export async function deliver(send: HttpSend, req: HttpRequest, policy: DeliveryPolicy): Promise<{ response?: HttpResponse; error?: string; attempts: number }> {
  let attempts = 0;
  let last: { response?: HttpResponse; error?: string } = {};
  for (;;) {
    attempts += 1;
    try {
      const response = await send(req);
      last = { response };
      if (!retryable(response.status)) return { ...last, attempts };
    } catch (err) {
      last = { error: failureReason(err as Error, req) };
    }
    if (attempts > policy.retries) return { ...last, attempts };
    await new Promise((r) => setTimeout(r, policy.backoffMs * 2 ** (attempts - 1)));
  }
}

export type ActionStatusName = 'success' | 'failure' | 'throttled' | 'acknowledged' | 'condition_failed' | 'simulated';

export interface ActionResult {
  id: string;
  type: 'webhook' | 'index' | 'logging';
  status: ActionStatusName;
  reason?: string;
  webhook?: { request: HttpRequest; response?: HttpResponse; attempts: number };
  index?: { response: Array<{ index: string; id: string; result: string }> };
  logging?: { logged_text: string };
}

export interface ActionDeps {
  client: Client;
  send: HttpSend;
  delivery: DeliveryPolicy;
  /** Where logging actions write. */
  log: (level: string, text: string) => void;
}

export async function runAction(
  id: string,
  action: WatchAction,
  model: Record<string, unknown>,
  payload: Record<string, unknown>,
  executionTime: string,
  deps: ActionDeps,
): Promise<ActionResult> {
  if (action.webhook) {
    const request = renderWebhook(action.webhook, model);
    const out = await deliver(deps.send, request, deps.delivery);
    const ok = out.response !== undefined && out.response.status >= 200 && out.response.status < 300;
    return {
      id,
      type: 'webhook',
      status: ok ? 'success' : 'failure',
      ...(ok ? {} : { reason: out.error ?? `received [${out.response!.status}] status code` }),
      webhook: { request: redacted(request), ...(out.response ? { response: out.response } : {}), attempts: out.attempts },
    };
  }
  if (action.index) {
    const a = action.index;
    // As in Watcher: a payload with a `_doc` list is indexed as one document per element.
    const docs = Array.isArray(payload._doc) ? (payload._doc as Record<string, unknown>[]) : [payload];
    const response: Array<{ index: string; id: string; result: string }> = [];
    for (const doc of docs) {
      const body = a.execution_time_field ? { ...doc, [a.execution_time_field]: executionTime } : doc;
      const r = await deps.client.index({
        index: a.index,
        document: body,
        ...(a.doc_id && docs.length === 1 ? { id: a.doc_id } : {}),
        ...(a.op_type ? { op_type: a.op_type } : {}),
        ...(a.refresh !== undefined ? { refresh: a.refresh === true || a.refresh === 'true' ? true : a.refresh === 'wait_for' ? 'wait_for' : false } : {}),
      });
      response.push({ index: r._index, id: r._id, result: r.result });
    }
    return { id, type: 'index', status: 'success', index: { response } };
  }
  const text = renderTemplate(action.logging!.text, model);
  deps.log(action.logging!.level ?? 'info', text);
  return { id, type: 'logging', status: 'success', logging: { logged_text: text } };
}
