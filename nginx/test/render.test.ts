import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_BASENAMES, logFile } from '@mlmon/contract';
import { renderNginxConf } from '../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-nginx-render-'));
const base = { statusPort: 18181, bodyLimitBytes: 131072, logDir: dir, runDir: dir, tempDir: dir };

describe('nginx.conf template', () => {
  // That real nginx accepts it (nginx -t) is checked in access-log.int.test.ts.
  it('renders for the local stack', () => {
    const conf = renderNginxConf({ ...base, listen: '127.0.0.1:18180', upstreams: ['127.0.0.1:9001', '127.0.0.1:9002'] });
    expect(conf).toContain('server 127.0.0.1:9002 max_fails=1 fail_timeout=3s;');
    expect(conf).toContain('client_max_body_size 131072;');
    // The file the hand-off contract names, not one the template spells out.
    expect(conf).toContain(`access_log ${logFile(dir, LOG_BASENAMES.nginxAccess)} mlmon_ecs;`);
    expect(conf).not.toContain('{{');
  });

  it('renders for docker-compose: one scaled service name, re-resolved through Docker DNS (nginx 1.27 image; Docker is not running here)', () => {
    const conf = renderNginxConf({ ...base, listen: '8080', upstreams: ['api:9001'], user: 'nginx', resolver: '127.0.0.11' });
    expect(conf).toMatch(/^user nginx;$/m);
    expect(conf).toMatch(/^\s*resolver 127\.0\.0\.11 valid=5s ipv6=off;$/m);
    expect(conf).toMatch(/^\s*zone mlmon_api 256k;$/m);
    expect(conf).toContain('server api:9001 max_fails=1 fail_timeout=3s resolve;');
    expect(conf).toContain('listen 8080;');
    // Debian's nginx predates `resolve` in upstreams, so only the local variant is run through nginx -t.
    expect(renderNginxConf({ ...base, listen: '8080', upstreams: ['api:9001'] })).not.toMatch(/resolve|zone/);
  });

  it('refuses an upstream list with no replica', () => {
    expect(() => renderNginxConf({ ...base, listen: '8080', upstreams: [] })).toThrow(/at least one/);
  });
});
