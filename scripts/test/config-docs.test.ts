import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { metaOf, renamedVariables } from '@mlmon/runtime';
import { CONFIG_DOC, renderConfigurationDoc, SECTIONS } from '../config-docs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Every file of the checkout (tracked, or new and not ignored) as text: code, deployment material, docs. */
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && f !== 'package-lock.json' && !f.startsWith('model/artifacts/') && !/\.(onnx|png|zip|jar)$/.test(f))
  .map((f) => ({ file: f, text: readFileSync(`${ROOT}${f}`, 'utf8') }));

const declared = new Set(SECTIONS.flatMap((s) => Object.keys(s.settings)));
/** The operating system's own, read to find java; no tool of mlmon's sets it. */
const OS_VARIABLES = new Set(['PATH']);

/** Where a pattern matches, as `file: NAME`. */
function occurrences(pattern: RegExp, where: (file: string) => boolean = () => true): Array<{ file: string; name: string }> {
  return files.filter((f) => where(f.file)).flatMap((f) => [...f.text.matchAll(pattern)].map((m) => ({ file: f.file, name: m[1]! })));
}

describe('docs/configuration.md (generated from the settings schemas)', () => {
  it('is up to date: npm run config:docs', () => {
    expect(readFileSync(CONFIG_DOC, 'utf8')).toBe(renderConfigurationDoc());
  });

  it('describes every setting, and names no machine-dependent default', () => {
    for (const s of SECTIONS) {
      for (const [name, schema] of Object.entries(s.settings)) expect(metaOf(schema)?.description, `${s.title}: ${name}`).toMatch(/\S/);
    }
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(doc).not.toContain(ROOT);
    expect(doc).toContain('| `MLMON_ANALYZER_INTERVAL`<br>deprecated: `ANALYZER_INTERVAL_S` (seconds) | `15s` |');
  });
});

describe('every variable mlmon reads is declared in a settings schema', () => {
  it('process.env and env[...] reads, in code, scripts and the Dockerfile', () => {
    // `delete env.X` scrubs a child's environment: not a read.
    const all = occurrences(/(?<!delete (?:process\.)?)\benv(?:\.|\[['"])([A-Z_][A-Z0-9_]*)/g);
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((r) => !declared.has(r.name) && !OS_VARIABLES.has(r.name))).toEqual([]);
  });

  it('every MLMON_ name anywhere in the repository (code, compose, Kubernetes, docs) is a declared one', () => {
    const unknown = occurrences(/\b(MLMON_[A-Z0-9_]*[A-Z0-9])\b/g).filter((r) => !declared.has(r.name));
    expect(unknown).toEqual([]);
  });

  it('settings declared anywhere, and shapes handed to loadConfig inline, are in the doc', () => {
    const isCode = (f: string) => f.endsWith('.ts') && !f.includes('/test/');
    const viaSetting = occurrences(/\b([A-Z][A-Z0-9_]*): setting\(/g, isCode);
    const inline = occurrences(/loadConfig\(\{([^}]*)\}/g, isCode).flatMap((r) => [...r.name.matchAll(/\b([A-Z][A-Z0-9_]*)\s*:/g)].map((m) => ({ file: r.file, name: m[1]! })));
    expect(viaSetting.length).toBeGreaterThan(100);
    expect([...viaSetting, ...inline].filter((r) => !declared.has(r.name))).toEqual([]);
  });
});

describe('renamed variables', () => {
  /** Where old names belong: the schemas that still read them, the generated doc, and the tests of that reading. */
  const KEEPS_OLD_NAMES = [/\/src\/config\.ts$/, /^common\/runtime\/src\/testing\.ts$/, /^bench\/settings\.ts$/, /^docs\/configuration\.md$/, /^\.env\.example$/, /\/test\/deprecated-[a-z-]*(\.int)?\.test\.ts$/, /^common\/runtime\/test\/config\.test\.ts$/, /^scripts\/(config-docs\.ts$|test\/)/];

  it('are used nowhere else: code, deployment material and docs say the new names', () => {
    const old = renamedVariables(SECTIONS).map((r) => (typeof r.old === 'string' ? r.old : r.old.name));
    expect(old).toContain('ES_URL');
    const pattern = new RegExp(`(?<![A-Za-z0-9_])(${old.join('|')})(?![A-Za-z0-9_])`, 'g');
    expect(occurrences(pattern, (f) => !KEEPS_OLD_NAMES.some((k) => k.test(f)))).toEqual([]);
  });
});
