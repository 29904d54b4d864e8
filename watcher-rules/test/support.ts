import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Client } from '@elastic/elasticsearch';
import { familyIndex, LOG_BASENAMES, logFile, parseEcsLine, setupTemplates, type AlertEvent } from '@mlmon/contract';
import { loadRunnerConfig, type RunnerConfig } from '../src/config.js';
import type { Doc } from './fixtures/events.js';

export const TOKEN = 'test-remediator-token-0123456789';

/** Indexes fixture documents into their daily family indices, mapped by mlmon's own templates. */
export async function indexDocs(client: Client, prefix: string, docs: Doc[]): Promise<void> {
  await setupTemplates(client, { prefix });
  if (docs.length === 0) return;
  const result = await client.helpers.bulk({
    datasource: docs,
    // An action and the document to index: the fixture's body, not its wrapper.
    onDocument: (d) => [{ index: { _index: familyIndex(prefix, d.family, new Date(d.body['@timestamp'] as string)) } }, d.body],
  });
  if (result.failed > 0) throw new Error(`${result.failed} fixture documents failed to index`);
  await client.indices.refresh({ index: `${prefix}-*` });
}

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** A local webhook receiver (Hono on a free port): what the remediator or Slack would get; over HTTPS with `tls` (PEM file paths). */
export async function receiver(
  behaviour: (path: string) => Promise<number> | number = () => 200,
  tls?: { cert: string; key: string },
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const app = new Hono().all('*', async (c) => {
    const body = await c.req.text();
    received.push({ path: c.req.path, headers: Object.fromEntries(c.req.raw.headers), body, at: Date.now() });
    const status = await behaviour(c.req.path);
    return c.json({ ok: status < 400 }, status as 200);
  });
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    const listen = { fetch: app.fetch, port: 0, hostname: '127.0.0.1' };
    const serverOptions = tls && { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
    server = serve(serverOptions ? { ...listen, createServer: createHttpsServer, serverOptions } : listen, (info) => resolve(info.port));
  });
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}

export function runnerConfig(o: { esUrl: string; prefix: string; env?: Record<string, string> }): RunnerConfig {
  return loadRunnerConfig({
    MLMON_ES_URL: o.esUrl,
    MLMON_INDEX_PREFIX: o.prefix,
    MLMON_LOG_DIR: mkdtempSync(path.join(os.tmpdir(), 'mlmon-rules-')),
    MLMON_REMEDIATOR_TOKEN: TOKEN,
    MLMON_RULES_INTERVAL: '1s',
    MLMON_RULES_WEBHOOK_BACKOFF: '50ms',
    MLMON_RULES_STATUS_INTERVAL: '1h',
    ...o.env,
  });
}

export function alertLines(dir: string): AlertEvent[] {
  const file = logFile(dir, LOG_BASENAMES.ruleRunner);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    // As the shipper reads them: dotted keys expanded, validated against the contract.
    .map((l) => parseEcsLine(l))
    .filter((e): e is AlertEvent => e.event.dataset === 'mlmon.alert');
}
