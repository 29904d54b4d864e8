/**
 * The floors bench/api.ts measures a replica against: Hono on the same Node
 * server adapter, parsing the same JSON body and answering a JSON object of
 * the same size, with nothing in between. Run as its own process, like a
 * replica, so both pay for the same HTTP stack and get a core each.
 *
 * Given a log folder it also writes the prediction line of the event
 * contract for each request, through the replica's own event log (batched,
 * answered once the line is appended): the floor for a server that logs every
 * prediction with its features, before any model or validation runs.
 * bench/api.ts points the log file at /dev/null, so the floor holds the
 * formatting and a write call but no disk.
 *
 *   node --import tsx bench/bare-hono.ts '<a replica answer>' [/tmp/log-folder]
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createEventLog } from '@mlmon/runtime';

// Arguments, not variables: bench/api.ts hands these to its own child, no operator sets them.
const answer = JSON.parse(process.argv[2] ?? '{}') as {
  prediction_id: string;
  model: { name: string; version: string };
  label: string;
  probability: number;
};
const logDir = process.argv[3];
const log =
  logDir === undefined
    ? undefined
    : createEventLog({ service: 'mlmon-bench', node: 'bare', dir: logDir, basename: 'bare', maxBytes: 64 * 2 ** 20, maxFiles: 2, batched: true });
const model = { ...answer.model, role: 'active' as const };
const batch = { size: 1, duration_ns: 0 };

const app = new Hono().post('/v1/predict', async (c) => {
  const body = (await c.req.json()) as { features: Record<string, number> };
  if (log) {
    await log.writePrevalidated('mlmon.prediction', 'info', 'prediction', {
      event: { duration: 0 },
      http: { request: { id: answer.prediction_id } },
      mlmon: { model, prediction: { id: answer.prediction_id, label: answer.label, score: answer.probability, features: body.features, batch } },
    });
  }
  return c.json(answer);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`bare hono listening on http://127.0.0.1:${info.port}`));
process.on('SIGTERM', () =>
  server.close(async () => {
    await log?.close();
    process.exit(0);
  }),
);
