import Mustache from 'mustache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertPayload, webhookBodyTemplate } from '../src/payload.js';
import { loadRemediatorConfig } from '../src/config.js';
import { TOKEN, alert, events, hook, remediatorFor } from './support.js';

/**
 * The webhook surface: who may call it and what it accepts. No engine is
 * configured here (no supervisor URL), so nothing is ever scaled.
 */
let r: Awaited<ReturnType<typeof remediatorFor>>;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  r = await remediatorFor({ MLMON_REMEDIATOR_BASIC_USER: 'watcher', MLMON_REMEDIATOR_BASIC_PASSWORD: 'basic-password-0123456789' });
});
afterAll(() => r.close());

describe('authentication', () => {
  it.each([
    ['no credentials', null],
    ['a wrong bearer token', 'Bearer not-the-token-0123456789'],
    ['a token prefix', `Bearer ${TOKEN.slice(0, -1)}`],
    ['wrong basic credentials', basic('watcher', 'wrong-password-0123456789')],
    ['basic with the token as password but no user', basic('', TOKEN)],
  ])('refuses %s with 401 and logs the refusal', async (_name, auth) => {
    const body = alert();
    const res = await hook(r.url, 'scale-out', body, auth);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('unauthorized');
    await expect.poll(() => events(r.logDir, 'mlmon.app').filter((e) => e.error?.code === 'unauthorized').length).toBeGreaterThan(0);
    // error.type is the error's class, as the event contract says: here the remediator's own refusal.
    expect(events(r.logDir, 'mlmon.app').find((e) => e.error?.code === 'unauthorized')!.error).toMatchObject({ type: 'RequestRefused', message: expect.stringMatching(/bearer token/) });
    // Nothing was decided: no remediation event names this execution.
    expect(events(r.logDir, 'mlmon.remediation').some((e) => e.mlmon.remediation.execution_id === body.execution_id)).toBe(false);
  });

  it('accepts the bearer token and basic credentials alike', async () => {
    for (const auth of [`Bearer ${TOKEN}`, basic('watcher', 'basic-password-0123456789')]) {
      const res = await hook(r.url, 'scale-out', alert(), auth);
      expect(res.status, JSON.stringify(res.body)).not.toBe(401);
    }
  });

  it('guards GET /v1/actions too', async () => {
    expect((await fetch(`${r.url}/v1/actions`)).status).toBe(401);
    expect((await fetch(`${r.url}/v1/actions`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('answers every refusal alike: 401, a challenge for each scheme it accepts, the error body', async () => {
    const res = await fetch(`${r.url}/v1/hooks/scale-out`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` }, body: JSON.stringify(alert()) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="mlmon-remediator", Basic realm="mlmon-remediator"');
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'a valid bearer token or basic credentials are required' } });
  });

  it('will not start without credentials for its webhooks', () => {
    expect(() => loadRemediatorConfig({})).toThrow(/MLMON_REMEDIATOR_TOKEN/);
    expect(() => loadRemediatorConfig({ MLMON_REMEDIATOR_TOKEN: 'short' })).toThrow(/MLMON_REMEDIATOR_TOKEN.*16 characters/);
  });

  it('owns the replica count unless told an autoscaler does', () => {
    expect(loadRemediatorConfig({ MLMON_REMEDIATOR_TOKEN: TOKEN }).MLMON_REMEDIATOR_SCALE_OWNER).toBe('remediator');
    expect(loadRemediatorConfig({ MLMON_REMEDIATOR_TOKEN: TOKEN, MLMON_REMEDIATOR_SCALE_OWNER: 'external' }).MLMON_REMEDIATOR_SCALE_OWNER).toBe('external');
    expect(() => loadRemediatorConfig({ MLMON_REMEDIATOR_TOKEN: TOKEN, MLMON_REMEDIATOR_SCALE_OWNER: 'hpa' })).toThrow(/MLMON_REMEDIATOR_SCALE_OWNER.*"remediator"\|"external".*\(got "hpa"\)/);
  });
});

describe('payload validation', () => {
  it.each([
    ['scale-out', { ...alert(), execution_id: undefined }, 'execution_id'],
    ['scale-out', { ...alert(), execution_id: '' }, 'execution_id'],
    ['scale-out', { ...alert(), watch_id: 7 }, 'watch_id'],
    ['scale-out', { ...alert(), severity: 'apocalyptic' }, 'severity'],
    ['scale-out', { ...alert(), value: 'high' }, 'value'],
    ['scale-out', { ...alert(), threshold: null }, 'threshold'],
    ['scale-out', { ...alert(), step: 0 }, 'step'],
    ['rollback', alert(), 'target'],
    ['restart-replica', alert(), 'target'],
  ])('%s refuses a bad %# with 400 naming the field', async (name, body, field) => {
    const res = await hook(r.url, name, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_payload', field });
    await expect.poll(() => events(r.logDir, 'mlmon.app').some((e) => e.mlmon?.app.field === field)).toBe(true);
    expect(events(r.logDir, 'mlmon.app').find((e) => e.mlmon?.app.field === field)!.error).toMatchObject({ code: 'invalid_payload', type: 'ZodError' });
  });

  it('refuses a body that is not JSON, and an unknown action', async () => {
    expect((await hook(r.url, 'scale-out', '{"watch_id":')).body.error?.code).toBe('invalid_json');
    await expect.poll(() => events(r.logDir, 'mlmon.app').find((e) => e.error?.code === 'invalid_json')?.error?.type).toBe('SyntaxError');
    const unknown = await hook(r.url, 'reboot', alert());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe('unknown_action');
  });

  it('reports a hook whose engine is not configured as failed, saying what is missing', async () => {
    const res = await hook(r.url, 'scale-out', alert());
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ decision: 'failed', reason: 'plan_failed' });
    expect(res.body.detail).toMatch(/MLMON_REMEDIATOR_BACKEND/);
  });

  it('accepts the body a Watcher webhook renders from the documented mustache template', () => {
    const template = webhookBodyTemplate({ severity: 'critical', value: 'ctx.payload.aggregations.p99.value', threshold: 250, target: 'canary' });
    const ctx = { watch_id: 'latency-p99', id: 'latency-p99_0-2026-01-01T00:00:00.000Z', payload: { aggregations: { p99: { value: 412.5 } } } };
    const parsed = alertPayload.parse(JSON.parse(Mustache.render(template, { ctx })));
    expect(parsed).toEqual({ watch_id: ctx.watch_id, execution_id: ctx.id, severity: 'critical', value: 412.5, threshold: 250, target: 'canary' });
  });
});
