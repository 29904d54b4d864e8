import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createEsClient, freePort, loadEsConfig, waitUntil } from '@mlmon/runtime';
import { ES_VERSION, instanceStatus, startInstance, stopInstance } from '../src/index.js';

/**
 * The launcher itself, on an instance of its own (the run's shared cluster is
 * started by the global setup through the same code).
 */
const NAME = 'launcher-test';


afterAll(() => stopInstance(NAME, { log: () => {} }));

describe('local Elasticsearch launcher', () => {
  it('starts a node that answers like Elasticsearch, reports it, and stops it leaving no process', async () => {
    const port = await freePort();
    const started = await startInstance({ name: NAME, port, fresh: true, log: () => {} });
    expect(started).toMatchObject({ started: true, running: true, version: ES_VERSION });

    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.headers.get('x-elastic-product')).toBe('Elasticsearch');
    expect(((await res.json()) as { version: { number: string } }).version.number).toBe(ES_VERSION);
    const client = createEsClient({ ...loadEsConfig({}), MLMON_ES_URL: `http://127.0.0.1:${port}` });
    expect((await client.info()).version.number).toBe(ES_VERSION);
    await client.close();

    const again = await startInstance({ name: NAME, port, log: () => {} });
    expect(again.started).toBe(false);

    const pid = started.pid!;
    expect(await stopInstance(NAME, { log: () => {} })).toBe(true);
    // Gone entirely, not a zombie: a zombie still answers signal 0.
    await waitUntil(() => !existsSync(`/proc/${pid}`), { timeoutMs: 5_000, intervalMs: 50, what: `pid ${pid} gone` });
    expect(() => process.kill(pid, 0)).toThrow();
    expect((await instanceStatus(NAME)).running).toBe(false);
    const leftovers = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`instances/${NAME}/`));
    expect(leftovers).toEqual([]);
  }, 180_000);

  it('refuses a port another process holds, naming it', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    const busy = (holder.address() as net.AddressInfo).port;
    try {
      await expect(startInstance({ name: 'busy-port-test', port: busy, log: () => {} })).rejects.toThrow(
        new RegExp(`port ${busy} is in use`),
      );
    } finally {
      holder.close();
    }
  });

  it('fails with the tail of the node output when the node cannot start', async () => {
    const saved = process.env.ES_JAVA_HOME;
    process.env.ES_JAVA_HOME = '/nonexistent-jdk';
    try {
      await expect(
        startInstance({ name: 'broken-test', port: await freePort(), readyTimeoutMs: 60_000, log: () => {} }),
      ).rejects.toThrow(/exited with code [1-9]\d*[\s\S]*nonexistent-jdk/);
    } finally {
      if (saved === undefined) delete process.env.ES_JAVA_HOME;
      else process.env.ES_JAVA_HOME = saved;
    }
  });
});
