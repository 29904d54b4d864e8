import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { parseEcsLine, setupTemplates, type MlmonEvent } from '@mlmon/contract';
import { renderNginxConf } from '@mlmon/nginx';
import { createEventLog, writeEvents, type EventLog } from '@mlmon/runtime';

/**
 * Lines in the exact shape the stack ships them: api lines written by the
 * real EventLog, nginx lines by filling nginx's own `log_format` from the
 * rendered nginx.conf, both parsed as the shipper parses them and indexed
 * with the same routing (daily index of the event's family, prediction id as
 * `_id`).
 */

const conf = renderNginxConf({ listen: '8080', upstreams: ['a:1'], statusPort: 8081, bodyLimitBytes: 1, logDir: '/l', runDir: '/r', tempDir: '/t' });
const LOG_FORMAT = (() => {
  const block = /log_format mlmon_ecs escape=json\n([\s\S]*?)';\n/.exec(conf)![1]! + "'";
  return [...block.matchAll(/'([^']*)'/g)].map((m) => m[1]).join('');
})();

/** One nginx access line as nginx writes it, for these variable values; a variable left out fails the test. */
export function nginxLine(vars: Record<string, string | number>): string {
  return LOG_FORMAT.replace(/\$([a-z_0-9]+)/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`nginxLine: no value for $${name}`);
    return String(vars[name]);
  });
}

export interface LineLogs {
  replica(id: string): EventLog;
  /** Every line written so far, parsed as the shipper parses it. */
  events(): MlmonEvent[];
  close(): Promise<void>;
}

export function lineLogs(): LineLogs {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-lines-'));
  const logs = new Map<string, EventLog>();
  const extra: string[] = [];
  return {
    replica(id) {
      let log = logs.get(id);
      if (!log) logs.set(id, (log = createEventLog({ service: 'mlmon-api', node: id, dir, basename: `api-${id}`, maxBytes: 1e8, maxFiles: 1 })));
      return log;
    },
    events() {
      const lines = [...logs.values()].flatMap((l) => readFileSync(l.file, 'utf8').trim().split('\n')).concat(extra);
      return lines.filter(Boolean).map((l) => parseEcsLine(l));
    },
    async close() {
      await Promise.all([...logs.values()].map((l) => l.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Installs the templates under the prefix and indexes the events, refreshed so a search sees them at once. */
export async function indexShipped(client: Client, prefix: string, events: MlmonEvent[]): Promise<void> {
  await setupTemplates(client, { prefix });
  const res = await writeEvents(client, { prefix, events, refresh: true });
  if (res.failed.length) throw new Error(`indexing failed: ${JSON.stringify(res.failed[0])}`);
}

/** The same event at another time: lines from the past, as after an hour of running. */
export const at = <E extends MlmonEvent>(e: E, when: Date): E => ({ ...e, '@timestamp': when.toISOString() });
