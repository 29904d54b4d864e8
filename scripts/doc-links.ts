/**
 * Relative links in the markdown docs: each must name a file or folder of the
 * checkout and, with a `#fragment` into a markdown file, one of its headings.
 * Written by hand: the link checkers on npm either fetch external URLs (no
 * internet here) or pull in a whole markdown parser for what two regular
 * expressions and GitHub's heading-anchor rule do.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  reason: string;
}

/** The markdown with fenced code blocks and inline code blanked out, so their brackets are not links; line numbers kept. */
function withoutCode(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line.replace(/`+[^`]*`+/g, (m) => ' '.repeat(m.length));
    })
    .join('\n');
}

/** GitHub's anchor for a heading: lowercased, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link of one markdown file (given as its path in the checkout) that does not resolve. */
export function brokenLinks(root: string, file: string, text: string): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const lines = withoutCode(text).split('\n');
  lines.forEach((line, i) => {
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [rawPath, fragment] = target.split('#', 2) as [string, string | undefined];
      const at = { file, line: i + 1, target };
      let markdown = text; // a bare #fragment points into this page
      if (rawPath !== '') {
        const resolved = path.join(root, path.dirname(file), decodeURIComponent(rawPath));
        if (!existsSync(resolved)) {
          broken.push({ ...at, reason: 'no such file or folder' });
          continue;
        }
        if (fragment === undefined || !resolved.endsWith('.md') || !statSync(resolved).isFile()) continue;
        markdown = readFileSync(resolved, 'utf8');
      }
      if (fragment !== undefined && !headingAnchors(markdown).has(decodeURIComponent(fragment))) broken.push({ ...at, reason: `no heading #${fragment}` });
    }
  });
  return broken;
}
