import { Hono } from 'hono';
import type { Deps } from '../deps.js';

export function healthRoutes({ state }: Deps) {
  return (
    new Hono()
      .get('/healthz', (c) => c.json({ status: 'alive' }))
      // Models load before the server listens, so ready means "not draining".
      .get('/readyz', (c) => (state.draining ? c.json({ status: 'draining' }, 503) : c.json({ status: 'ready' })))
  );
}
