import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePortBlock } from '../src/index.js';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('free ports', () => {
  it('a block lies wholly below the ephemeral range, where outgoing connections cannot take it, and every port in it listens', async () => {
    const base = await freePortBlock(15);
    expect(base + 15).toBeLessThanOrEqual(ephemeralStart);
    const servers = await Promise.all(Array.from({ length: 15 }, (_, i) => listen(base + i)));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('a single port too', async () => {
    const port = await freePort();
    expect(port).toBeLessThan(ephemeralStart);
    const s = await listen(port);
    await new Promise((r) => s.close(r));
  });
});
