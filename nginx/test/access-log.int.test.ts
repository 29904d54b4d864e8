import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAcceptedRequestId, LOG_BASENAMES, logFile, parseEcsLine, type EventOf } from '@mlmon/contract';
import { freePort, waitUntil } from '@mlmon/runtime';
import { ensureNginx, LocalNginx, renderNginxConf } from '../src/index.js';

/** Real nginx with the project's config in front of a plain upstream that answers what the path asks for. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-nginx-log-'));
const received = new Map<string, string | undefined>();
const upstream = http.createServer((req, res) => {
  received.set(req.url!, req.headers['x-request-id'] as string | undefined);
  const status = Number(/status=(\d{3})/.exec(req.url!)?.[1] ?? 200);
  res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
});
let nginx: LocalNginx;
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  nginx = new LocalNginx(ensureNginx(), { listen: `127.0.0.1:${port}`, statusPort: await freePort(), bodyLimitBytes: 1024, logDir: dir, runDir: path.join(dir, 'run') });
  nginx.start([`127.0.0.1:${(upstream.address() as { port: number }).port}`]);
  base = `http://127.0.0.1:${port}`;
  await waitUntil(() => fetch(`${base}/ready`).then((r) => r.ok, () => false), { timeoutMs: 10_000, what: 'nginx answering' });
});

afterAll(async () => {
  await nginx.stop();
  upstream.close();
});

function accessLines(): Array<EventOf<'nginx.access'>> {
  return readFileSync(logFile(dir, LOG_BASENAMES.nginxAccess), 'utf8')
    .trim()
    .split('\n')
    .map((l) => parseEcsLine(l) as EventOf<'nginx.access'>);
}
const lineFor = (url: string) => accessLines().find((e) => e.url.original === url);

describe('the rendered nginx.conf', () => {
  it('is a config real nginx accepts (nginx -t) for the local stack', () => {
    const file = path.join(dir, 'local.conf');
    writeFileSync(file, renderNginxConf({ statusPort: 18181, bodyLimitBytes: 131072, logDir: dir, runDir: dir, tempDir: dir, listen: '127.0.0.1:18180', upstreams: ['127.0.0.1:9001', '127.0.0.1:9002'] }));
    const test = spawnSync(ensureNginx(), ['-t', '-c', file], { encoding: 'utf8' });
    expect(test.status, test.stderr).toBe(0);
  });
});

describe("nginx's access line is ECS (real nginx)", () => {
  it('carries duration in ns, source ip, user agent, http version, url path and the event categorization', async () => {
    const url = '/v1/predict?debug=1';
    const res = await fetch(base + url, { method: 'POST', body: '{}', headers: { 'user-agent': 'mlmon-test/1.0 "quoted"' } });
    expect(res.status).toBe(200);
    await expect.poll(() => lineFor(url)?.url.original).toBe(url);
    const e = lineFor(url)!;
    expect(e.event).toMatchObject({ category: ['web'], type: ['access'], outcome: 'success' });
    // nginx measures milliseconds; the ns field must be exactly that figure.
    expect(e.event.duration).toBe(Math.round(e.mlmon.nginx.request_time_s * 1e9));
    // Truncated to its /24: where traffic comes from, not who sent it.
    expect(e.source.ip).toBe('127.0.0.0');
    expect(e.user_agent.original).toBe('mlmon-test/1.0 "quoted"');
    expect(e.http.version).toBe('1.1');
    expect(e.url.path).toBe('/v1/predict');
    expect(e.log.level).toBe('info');
  });

  it.each([
    [404, 'failure', 'warn'],
    [503, 'failure', 'error'],
  ])('a %i is outcome %s at level %s', async (status, outcome, level) => {
    const url = `/x?status=${status}`;
    expect((await fetch(base + url)).status).toBe(status);
    await expect.poll(() => lineFor(url)?.url.original).toBe(url);
    expect(lineFor(url)).toMatchObject({ event: { outcome }, log: { level }, http: { response: { status_code: status } } });
  });
});

describe('one request id end to end: nginx keeps exactly the ids the api keeps', () => {
  const cases = ['abc-DEF_123=', 'a'.repeat(255), 'a'.repeat(256), 'has space', 'semi;colon', 'dot.ted', 'ünïcode', 'slash/es'];
  it.each(cases.map((c) => [c.length > 20 ? `${c.slice(0, 8)}… (${c.length})` : c, c]))('%s', async (_name, id) => {
    const url = `/id/${received.size}`;
    // fetch refuses non-Latin-1 header values; send the bytes as the client would.
    const res = await fetch(base + url, { headers: { 'x-request-id': Buffer.from(id, 'utf8').toString('latin1') } });
    const forwarded = received.get(url)!;
    const expected = isAcceptedRequestId(id) ? id : expect.stringMatching(/^[0-9a-f]{32}$/);
    expect(forwarded).toEqual(expected);
    expect(res.headers.get('x-request-id')).toBe(forwarded);
    await expect.poll(() => lineFor(url)?.http.request.id).toBe(forwarded);
  });
});

describe('the log format stays valid JSON for any status', () => {
  it('status 000 (no answer sent) is null with outcome unknown, and still a valid line', () => {
    const conf = renderNginxConf({ listen: '8080', upstreams: ['a:1'], statusPort: 1, bodyLimitBytes: 1, logDir: '/l', runDir: '/r', tempDir: '/t' });
    // What the status maps give for 000, read from the rendered config rather than restated.
    const mapped = (name: string) => new RegExp(`map \\$status \\$${name} \\{\\n\\s+000\\s+(\\S+);`).exec(conf)?.[1] ?? /default\s+(\S+);/.exec(conf.split(`$${name} {`)[1]!)![1]!;
    const format = [.../'([^']*)'/g[Symbol.matchAll](/log_format mlmon_ecs escape=json\n([\s\S]*?);\n/.exec(conf)![1]!)].map((m) => m[1]).join('');
    const vars: Record<string, string> = {
      mlmon_status_code: mapped('mlmon_status_code'),
      mlmon_outcome: mapped('mlmon_outcome'),
      mlmon_log_level: mapped('mlmon_log_level'),
      status: '000',
      body_bytes_sent: '0',
      request_time: '0.000',
      mlmon_duration_ns: '0',
      mlmon_source_ip: '127.0.0.0',
      time_iso8601: '2024-01-01T00:00:00+00:00',
      hostname: 'h',
      mlmon_request_id: 'r',
      request_method: 'GET',
    };
    // Variables nginx leaves empty when no upstream was asked (and free text) stay empty.
    const line = format.replace(/\$([a-z_0-9]+)/g, (_, v: string) => vars[v] ?? '');
    const e = parseEcsLine(line) as EventOf<'nginx.access'>;
    expect(e.http.response.status_code).toBeNull();
    expect(e.event.outcome).toBe('unknown');
  });
});
