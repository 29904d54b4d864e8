import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors } from '../doc-links.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The docs a reader walks: the root README, every folder's README, everything under docs/ (tracked, or new and not ignored). */
const DOCS = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f === 'README.md' || f.startsWith('docs/') || /^([^/]+\/){1,2}README\.md$/.test(f));

describe('relative links in the docs', () => {
  it('covers the root README, docs/ and the READMEs of the folders', () => {
    expect(DOCS).toContain('README.md');
    expect(DOCS).toContain('docs/configuration.md');
    expect(DOCS).toContain('api/README.md');
    expect(DOCS).toContain('common/contract/README.md');
  });

  it('every one names an existing file or folder, and a heading of it when it has a #fragment', () => {
    const broken = DOCS.flatMap((f) => brokenLinks(ROOT, f, readFileSync(`${ROOT}${f}`, 'utf8')));
    expect(broken.map((b) => `${b.file}:${b.line}: ${b.target} (${b.reason})`)).toEqual([]);
  });

  it('the check catches a missing file, a missing heading and a missing heading of the page itself, and skips code and URLs', () => {
    const page = [
      '# Top',
      '## Two words: `code` here',
      '[ok](README.md) [ok](docs/) [ok](#two-words-code-here) [ok](docs/deployment.md#kubernetes-past-one-host)',
      '[gone](nowhere.md) [gone](README.md#no-such-heading) [gone](#nor-here)',
      '`[not a link](nowhere.md)` [external](https://example.com/x.md)',
      '```',
      '[in a block](nowhere.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(ROOT, 'page.md', page).map((b) => [b.line, b.target, b.reason])).toEqual([
      [4, 'nowhere.md', 'no such file or folder'],
      [4, 'README.md#no-such-heading', 'no heading #no-such-heading'],
      [4, '#nor-here', 'no heading #nor-here'],
    ]);
  });

  it("anchors follow GitHub's rule: punctuation dropped, repeats numbered", () => {
    expect([...headingAnchors('# A: `b.c` (d)\n## A: b.c (d)\n```\n# not a heading\n```')]).toEqual(['a-bc-d', 'a-bc-d-1']);
  });
});
