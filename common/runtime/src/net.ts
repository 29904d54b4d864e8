import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Ports are drawn below the kernel's ephemeral range. A port inside it can be
 * taken between the check and the child's listen() by any outgoing
 * connection (a client's local port), and with several test files running at
 * once that happened: a stack failed with EADDRINUSE on a port checked free.
 */
const LOW = 10_000;
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOW + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}
const HIGH = ephemeralStart();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports free on loopback right now, for a process started
 * next that derives ports from a base (the local stack: nginx, its status
 * page and control API, one slot per replica). Random bases keep concurrent
 * callers apart.
 */
export async function freePortBlock(count: number, attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - LOW - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canListen(p);
    if (free) return base;
  }
  throw new Error(`no block of ${count} free ports found on 127.0.0.1 between ${LOW} and ${HIGH} in ${attempts} attempts`);
}

/** A TCP port free on loopback right now, for a process started next (tests, benchmarks). */
export function freePort(): Promise<number> {
  return freePortBlock(1);
}
