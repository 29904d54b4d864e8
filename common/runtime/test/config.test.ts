import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, esUrl, loadConfig, loadEsConfig } from '../src/index.js';

describe('loadEsConfig', () => {
  it('applies defaults when nothing is set', () => {
    const c = loadEsConfig({});
    expect(c.ES_PORT).toBe(9200);
    expect(c.MLMON_INDEX_PREFIX).toBe('mlmon');
    expect(esUrl(c)).toBe('http://127.0.0.1:9200');
  });

  it('prefers ES_URL over the local port', () => {
    expect(esUrl(loadEsConfig({ ES_URL: 'https://es.example:9243', ES_PORT: '9300' }))).toBe('https://es.example:9243');
  });

  it('treats an empty variable as unset', () => {
    expect(loadEsConfig({ ES_PORT: '' }).ES_PORT).toBe(9200);
  });

  it.each([
    ['ES_PORT', '92OO'],
    ['ES_PORT', '70000'],
    ['ES_URL', 'not a url'],
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
