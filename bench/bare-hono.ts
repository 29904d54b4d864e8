/**
 * The floor bench/api.ts measures a replica against: Hono on the same Node
 * server adapter, parsing the same JSON body and answering a JSON object of
 * the same size, with nothing in between. Run as its own process, like a
 * replica, so both pay for the same HTTP stack and get a core each.
 *
 *   BARE_ANSWER='<a replica answer>' node --import tsx bench/bare-hono.ts
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const answer: unknown = JSON.parse(process.env.BARE_ANSWER ?? '{}');
const app = new Hono().post('/v1/predict', async (c) => {
  await c.req.json();
  return c.json(answer);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => console.log(`bare hono listening on http://127.0.0.1:${info.port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
