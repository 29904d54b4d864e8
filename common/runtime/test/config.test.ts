import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  createEsClient,
  duration,
  durationList,
  esConfigShape,
  esUrl,
  esUrls,
  loadConfig,
  loadEsConfig,
  positiveDuration,
  renderConfigDoc,
  setting,
} from '../src/index.js';

/** loadConfig with its deprecation notices collected instead of printed. */
function load<S extends z.ZodRawShape>(shape: S, env: Record<string, string>) {
  const warnings: string[] = [];
  const config = loadConfig(shape, env, (m) => warnings.push(m));
  return { config, warnings };
}

describe('loadEsConfig', () => {
  it('applies defaults when nothing is set', () => {
    const c = loadEsConfig({});
    expect(c.MLMON_ES_PORT).toBe(9200);
    expect(c.MLMON_INDEX_PREFIX).toBe('mlmon');
    expect(esUrls(c)).toEqual(['http://127.0.0.1:9200']);
  });

  it('prefers MLMON_ES_URL over the local port', () => {
    expect(esUrls(loadEsConfig({ MLMON_ES_URL: 'https://es.example:9243', MLMON_ES_PORT: '9300' }))).toEqual(['https://es.example:9243']);
  });

  it('takes a comma-separated list of nodes, and the client gets every one of them', () => {
    const c = loadEsConfig({ MLMON_ES_URL: 'http://es1:9200, http://es2:9200,http://es3:9200' });
    expect(c.MLMON_ES_URL).toEqual(['http://es1:9200', 'http://es2:9200', 'http://es3:9200']);
    expect(esUrl(c)).toBe('http://es1:9200,http://es2:9200,http://es3:9200');
    const client = createEsClient(c);
    expect(client.connectionPool.connections.map((conn) => conn.url.host)).toEqual(['es1:9200', 'es2:9200', 'es3:9200']);
    // As a test harness passes them on: the same text.
    expect(esUrls({ MLMON_ES_URL: esUrl(c), MLMON_ES_PORT: 9200 })).toEqual(['http://es1:9200', 'http://es2:9200', 'http://es3:9200']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadEsConfig({ MLMON_ES_PORT: '' }).MLMON_ES_PORT).toBe(9200);
  });

  it.each([
    ['MLMON_ES_PORT', '92OO'],
    ['MLMON_ES_PORT', '70000'],
    ['MLMON_ES_URL', 'not a url'],
    ['MLMON_ES_URL', 'http://es1:9200,es2'],
    ['MLMON_INDEX_PREFIX', 'Bad Prefix'],
  ])('names the bad variable %s=%s', (variable, value) => {
    const attempt = () => loadEsConfig({ [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^Invalid configuration: ${variable} .*${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('lets a service declare its own variables on top', () => {
    const c = loadConfig({ REPLICAS: z.coerce.number().int().min(1).default(3) }, { REPLICAS: '5' });
    expect(c.REPLICAS).toBe(5);
    expect(() => loadConfig({ REPLICAS: z.coerce.number().int().min(1) }, { REPLICAS: '0' })).toThrow(/REPLICAS/);
  });
});

describe('durations', () => {
  const shape = { EXAMPLE_INTERVAL: setting(positiveDuration.prefault('15s'), { description: 'x' }) };

  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ])('%s is %i ms', (text, ms) => {
    expect(duration.parse(text)).toBe(ms);
  });

  it('defaults through the same parser', () => {
    expect(load(shape, {}).config.EXAMPLE_INTERVAL).toBe(15_000);
  });

  it.each(['15', '1.5', 'soon', '-5s'])('refuses %j, naming the variable and the form it wants', (text) => {
    expect(() => loadConfig(shape, { EXAMPLE_INTERVAL: text })).toThrow(/^Invalid configuration: EXAMPLE_INTERVAL must be a duration with a unit, such as 500ms, 15s, 5m, 1h or 2d/);
  });

  it('refuses zero where the duration must be positive, and allows it where it may be', () => {
    expect(() => loadConfig(shape, { EXAMPLE_INTERVAL: '0s' })).toThrow(/EXAMPLE_INTERVAL must be longer than 0 \(got "0s"\)/);
    expect(duration.parse('0s')).toBe(0);
  });

  it('reads a list of windows, keeping each one named as written', () => {
    expect(durationList.parse('5m, 1h')).toEqual([
      { name: '5m', ms: 300_000 },
      { name: '1h', ms: 3_600_000 },
    ]);
    expect(durationList.safeParse('5m,15').success).toBe(false);
  });
});

describe('old names, for one release', () => {
  const shape = {
    EXAMPLE_INTERVAL: setting(positiveDuration.prefault('15s'), { description: 'x', aliases: [{ name: 'OLD_INTERVAL_S', unit: 's' }] }),
    EXAMPLE_TOKEN: setting(z.string().optional(), { description: 'y', secret: true, aliases: ['OLD_TOKEN'] }),
  };

  it('uses the old variable when the new one is unset, converting its unit, and warns once naming both (a secret without its value)', () => {
    const { config, warnings } = load(shape, { OLD_INTERVAL_S: '15', OLD_TOKEN: 'a-secret-value' });
    expect(config).toEqual({ EXAMPLE_INTERVAL: 15_000, EXAMPLE_TOKEN: 'a-secret-value' });
    expect(warnings).toEqual([
      'OLD_INTERVAL_S is deprecated: its value is used for this release; set EXAMPLE_INTERVAL=15s instead',
      'OLD_TOKEN is deprecated: its value is used for this release; set EXAMPLE_TOKEN instead',
    ]);
  });

  it('lets the new variable win when both are set, and says so', () => {
    const { config, warnings } = load(shape, { OLD_INTERVAL_S: '15', EXAMPLE_INTERVAL: '2s' });
    expect(config.EXAMPLE_INTERVAL).toBe(2000);
    expect(warnings).toEqual(['OLD_INTERVAL_S is deprecated and EXAMPLE_INTERVAL is set too: EXAMPLE_INTERVAL is used; remove OLD_INTERVAL_S']);
  });

  it('says nothing when only new names are set', () => {
    expect(load(shape, { EXAMPLE_INTERVAL: '2s' }).warnings).toEqual([]);
  });

  it('names the old variable, as the operator wrote it, when its value is bad', () => {
    expect(() => loadConfig(shape, { OLD_INTERVAL_S: 'fast' }, () => {})).toThrow(
      'Invalid configuration: OLD_INTERVAL_S (deprecated name of EXAMPLE_INTERVAL) must be a duration with a unit, such as 500ms, 15s, 5m, 1h or 2d (got "fast")',
    );
  });

  it('reads the Elasticsearch settings under their old names too', () => {
    const { config, warnings } = load(esConfigShape, { ES_URL: 'http://old:9200' });
    expect(config.MLMON_ES_URL).toEqual(['http://old:9200']);
    expect(warnings).toEqual(['ES_URL is deprecated: its value is used for this release; set MLMON_ES_URL=http://old:9200 instead']);
  });
});

describe('renderConfigDoc', () => {
  it('writes a table row per variable: default, secrecy, old names, and a placeholder kept from HTML', () => {
    const doc = renderConfigDoc({
      preamble: '# Configuration',
      sections: [
        {
          title: 'x',
          intro: 'The x service.',
          settings: {
            EXAMPLE_INTERVAL: setting(positiveDuration.prefault('15s'), { description: 'Every tick.', aliases: [{ name: 'OLD_INTERVAL_S', unit: 's' }] }),
            EXAMPLE_TOKEN: setting(z.string().optional(), { description: 'Bearer token of <url>/admin.', secret: true }),
            EXAMPLE_URL: setting(z.url(), { description: 'Where x is.' }),
          },
        },
      ],
    });
    expect(doc.split('\n')).toEqual([
      '# Configuration',
      '',
      '## x',
      '',
      'The x service.',
      '',
      '| Variable | Default | Description |',
      '|---|---|---|',
      '| `EXAMPLE_INTERVAL`<br>deprecated: `OLD_INTERVAL_S` (seconds) | `15s` | Every tick. |',
      '| `EXAMPLE_TOKEN` | unset | **Secret.** Bearer token of &lt;url&gt;/admin. |',
      '| `EXAMPLE_URL` | **required** | Where x is. |',
      '',
      '## Renamed variables',
      '',
      'Each old name still works for this release: its value is used (converted where the old name carried a unit) and the service warns once, on stderr, naming the new one. When both are set, the new one wins.',
      '',
      '| Old name | New name |',
      '|---|---|',
      '| `OLD_INTERVAL_S` (seconds) | `EXAMPLE_INTERVAL` |',
      '',
    ]);
  });
});
