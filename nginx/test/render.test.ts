import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureNginx, renderNginxConf } from '../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mlmon-nginx-render-'));
const base = { statusPort: 18181, bodyLimitBytes: 131072, logDir: dir, runDir: dir, tempDir: dir };

describe('nginx.conf template', () => {
  it('renders for the local stack into a config real nginx accepts', () => {
    const conf = renderNginxConf({ ...base, listen: '127.0.0.1:18180', upstreams: ['127.0.0.1:9001', '127.0.0.1:9002'] });
    expect(conf).toContain('server 127.0.0.1:9002 max_fails=1 fail_timeout=3s;');
    expect(conf).toContain('client_max_body_size 131072;');
    expect(conf).not.toContain('{{');
    const file = path.join(dir, 'local.conf');
    writeFileSync(file, conf);
    const test = spawnSync(ensureNginx(), ['-t', '-c', file], { encoding: 'utf8' });
    expect(test.status, test.stderr).toBe(0);
  });

  it('renders for docker-compose with service names as upstreams', () => {
    const conf = renderNginxConf({ ...base, listen: '8080', upstreams: ['api-1:9001', 'api-2:9001'], user: 'nginx' });
    expect(conf).toMatch(/^user nginx;$/m);
    expect(conf).toContain('server api-1:9001 ');
    expect(conf).toContain('listen 8080;');
  });

  it('refuses an upstream list with no replica', () => {
    expect(() => renderNginxConf({ ...base, listen: '8080', upstreams: [] })).toThrow(/at least one/);
  });
});
