/**
 * An operator pastes runbook lines during an incident, so each must work as
 * written: every `npm run mlmon -- …` in docs/runbooks/ and
 * docs/troubleshooting.md is parsed by the CLI's own commander program (its
 * option parsers included) and stopped before its action runs; the values the
 * actions would refuse (a dataset, a level, a duration, a rule id) and the
 * fields a query names are checked against the same code and templates; and
 * every dashboard, panel and saved search a page cites exists in
 * kibana/src/definitions.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { desiredTemplates } from '@mlmon/contract';
import { DASHBOARDS, queryFields, SAVED_SEARCHES } from '@mlmon/kibana';
import { buildProgram } from '../src/program.js';
import { REPO_ROOT } from '../src/stack/paths.js';
import { logsFilter, type LogsQuery } from '../src/troubleshoot/logs.js';
import { sinceToDate } from '../src/troubleshoot/search.js';

const read = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), 'utf8');
const RULES = readdirSync(path.join(REPO_ROOT, 'watcher-rules/watches'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();
// TEMPLATE.md's commands are placeholders to fill in, not commands.
const RUNBOOKS = readdirSync(path.join(REPO_ROOT, 'docs/runbooks'))
  .filter((f) => f.endsWith('.md') && f !== 'TEMPLATE.md')
  .map((f) => `docs/runbooks/${f}`);
const PAGES = [...RUNBOOKS, 'docs/troubleshooting.md'];

/** Every `npm run mlmon -- …` of a page: a code line up to its `#` comment, or an inline code span. */
function commandsIn(text: string): string[] {
  return [...text.matchAll(/npm run mlmon -- ([^`\n]+)/g)].map((m) => m[1]!.replace(/\s+#.*$/, '').trim());
}

/**
 * The words a shell passes for a line of plain words and '…' or "…" quoting.
 * Anything the shell would act on (a <placeholder> is a redirection, $ a
 * substitution, * a glob) is refused: the line would not run as written.
 */
function shellWords(line: string): string[] {
  const unquoted = line.replace(/'[^']*'|"[^"$`\\]*"/g, '');
  if (/['"$`\\<>|;&(){}*?[\]]/.test(unquoted)) throw new Error(`the shell would not pass this line as written: ${line}`);
  return [...line.matchAll(/(?:'[^']*'|"[^"]*"|[^\s'"])+/g)].map((m) => m[0].replace(/'([^']*)'|"([^"]*)"/g, '$1$2'));
}

/** What a parse reached: the command whose action would run, its arguments and options. */
class Accepted extends Error {
  constructor(
    readonly command: string,
    readonly args: string[],
    readonly opts: Record<string, unknown>,
  ) {
    super(`accepted: ${command}`);
  }
}

function parse(words: string[]): Accepted {
  const program = buildProgram((p) =>
    p
      .exitOverride()
      .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
      // Runs before any command's action: throwing here stops it with what was parsed.
      .hook('preAction', (_root, action) => {
        const names: string[] = [];
        for (let c: typeof action | null = action; c?.parent; c = c.parent) names.unshift(c.name());
        throw new Accepted(names.join(' '), action.args, action.opts());
      }),
  );
  try {
    program.parse(words, { from: 'user' });
  } catch (err) {
    if (err instanceof Accepted) return err;
    throw err;
  }
  throw new Error(`no command would run for: ${words.join(' ')}`);
}

// Every field the index templates map; under an object mapped without properties (features, context) any name is searchable.
const mapped = new Map<string, string>();
type Node = { type?: string; dynamic?: boolean | string; properties?: Record<string, Node> };
function flatten(props: Record<string, Node>, prefix = ''): void {
  for (const [k, n] of Object.entries(props)) {
    if (n.properties) flatten(n.properties, `${prefix}${k}.`);
    mapped.set(`${prefix}${k}`, n.properties && n.dynamic !== true ? 'object-with-properties' : (n.type ?? 'object'));
  }
}
for (const t of desiredTemplates('mlmon')) {
  const props = (t.body as { template?: { mappings?: { properties?: Record<string, Node> } } }).template?.mappings?.properties;
  if (props) flatten(props);
}
function searchable(field: string): boolean {
  const type = mapped.get(field);
  if (type) return type !== 'object' && type !== 'object-with-properties';
  return [...mapped].some(([f, t]) => t === 'object' && field.startsWith(`${f}.`));
}

/** Parses one documented command and checks what its action would refuse or silently not find. */
function check(line: string): void {
  const a = parse(shellWords(line));
  const o = a.opts;
  if (a.command === 'logs') {
    logsFilter({ ...(o as unknown as LogsQuery), size: o.lines as number });
    const unknown = queryFields((o.query as string | undefined) ?? '').filter((f) => !searchable(f));
    if (unknown.length) throw new Error(`--query names fields no template maps: ${unknown.join(', ')}`);
  }
  if (a.command === 'top') sinceToDate(o.since as string);
  if ((a.command === 'rules test' || a.command === 'rules ack') && !RULES.includes(a.args[0]!)) throw new Error(`no rule "${a.args[0]}" in watcher-rules/watches`);
}

/** `dashboard "D" › panel "P"`, `Discover › "S"` and `saved search "S"` citations that name nothing in kibana/src/definitions.ts. */
function citationProblems(text: string): string[] {
  const flat = text.replace(/\s+/g, ' ');
  const problems: string[] = [];
  let panels = 0;
  for (const [, dashboard, panel] of flat.matchAll(/dashboard "([^"]+)"(?: › panel "([^"]+)")?/gi)) {
    const d = DASHBOARDS.find((x) => x.title === dashboard);
    if (!d) problems.push(`no dashboard "${dashboard}"`);
    if (panel === undefined) continue;
    panels += 1;
    if (d && !d.panels.some((p) => p.title === panel)) problems.push(`no panel "${panel}" in dashboard "${dashboard}"`);
  }
  if ((flat.match(/panel "/gi) ?? []).length !== panels) problems.push('a panel cited without its dashboard: write dashboard "D" › panel "P"');
  for (const [, search] of flat.matchAll(/(?:Discover ›|saved search) "([^"]+)"/gi)) if (!SAVED_SEARCHES.some((s) => s.title === search)) problems.push(`no saved search "${search}"`);
  return problems;
}

const section = (text: string, title: string) => text.split(/^## /m).find((s) => s.startsWith(`${title}\n`)) ?? '';

describe('runbooks and docs/troubleshooting.md', () => {
  it.each(PAGES)('%s: every mlmon command parses and every value and field it names exists', (page) => {
    const commands = commandsIn(read(page));
    expect(commands.length).toBeGreaterThan(0);
    const problems = commands.flatMap((c) => {
      try {
        check(c);
        return [];
      } catch (err) {
        return [`${c}: ${(err as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });

  it.each(PAGES)('%s: every dashboard, panel and saved search it cites exists', (page) => {
    expect(citationProblems(read(page))).toEqual([]);
  });

  it("there is one runbook per rule, in the template's sections, linked from the rule and stating its severity and action", () => {
    expect(RUNBOOKS.map((r) => path.basename(r, '.md')).sort()).toEqual(RULES);
    for (const rule of RULES) {
      const { metadata } = JSON.parse(read(`watcher-rules/watches/${rule}.json`)) as { metadata: { runbook: string; severity: string; remediation?: string } };
      const text = read(`docs/runbooks/${rule}.md`);
      expect(metadata.runbook).toBe(`docs/runbooks/${rule}.md`);
      expect(text.match(/^## .+$/gm), rule).toEqual(['## Symptom', '## Confirm', '## Likely causes', '## Action', '## Afterwards']);
      expect(text, rule).toContain(`**Severity:** ${metadata.severity}`);
      expect(text, rule).toContain(`**Automatic action:** ${metadata.remediation ?? 'none'}`);
      const confirm = section(text, 'Confirm');
      expect(confirm, rule).toContain(`npm run mlmon -- logs --dataset mlmon.alert --query 'mlmon.alert.rule:"${rule}"'`);
      expect(commandsIn(confirm).filter((c) => /^(logs|trace|top)\b/.test(c)).length, rule).toBeGreaterThan(1);
      expect(confirm, rule).toMatch(/dashboard "[^"]+" › panel "/);
    }
  });

  it('catches a misspelt flag, value, rule, field, shell placeholder, dashboard, panel or saved search', () => {
    expect(() => check('logs --datset mlmon.app')).toThrow(/unknown option '--datset'/);
    expect(() => check('logs --dataset mlmon.ap')).toThrow(/--dataset must be one of/);
    expect(() => check('logs --level warnings')).toThrow(/--level must be one of/);
    expect(() => check('logs --since 15')).toThrow(/--since must be a duration/);
    expect(() => check("logs --query 'mlmon.quality.acuracy:<0.9'")).toThrow(/mlmon.quality.acuracy/);
    expect(() => check('top --since 15m -n 0')).toThrow(/not a positive integer/);
    expect(() => check('rules test latency-p95')).toThrow(/no rule "latency-p95"/);
    expect(() => check('rules tset latency-p99')).toThrow(/unknown command 'tset'/);
    expect(() => check('trace')).toThrow(/missing required argument 'id'/);
    expect(() => check('scale <n+1>')).toThrow(/would not pass this line/);
    expect(() => check("logs --query 'mlmon.prediction.features.mean_radius:>30 AND mlmon.alert.rule:\"x\"' -n 5")).not.toThrow();
    expect(shellWords(`logs --query 'a:"b c"' --since=1h`)).toEqual(['logs', '--query', 'a:"b c"', '--since=1h']);
    expect(citationProblems('dashboard "Service health" › panel "Predictions per replica"; Discover › "mlmon: errors"')).toEqual([]);
    expect(citationProblems('dashboard "Service healthy"')).toEqual(['no dashboard "Service healthy"']);
    expect(citationProblems('dashboard "Service health" › panel "Predictions per replicas"')).toEqual(['no panel "Predictions per replicas" in dashboard "Service health"']);
    expect(citationProblems('the panel "Predictions per replica"')).toEqual(['a panel cited without its dashboard: write dashboard "D" › panel "P"']);
    expect(citationProblems('the saved search "mlmon: error"')).toEqual(['no saved search "mlmon: error"']);
  });
});
