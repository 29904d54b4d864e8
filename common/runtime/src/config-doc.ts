import type { z } from 'zod';
import { metaOf, type OldName, type Settings } from './config.js';

/** One section of docs/configuration.md: a service (or tool) and the settings it reads. */
export interface ConfigDocSection {
  title: string;
  /** Markdown under the title: what reads these and how it runs. */
  intro: string;
  settings: Settings;
  /** Settings documented once in another section (the Elasticsearch ones): named here, not repeated. */
  shared?: { title: string; settings: Settings };
}

const UNIT_WORDS: Record<string, string> = { ms: 'milliseconds', s: 'seconds', h: 'hours', d: 'days' };

const oldName = (o: OldName) => (typeof o === 'string' ? o : o.name);

function describeOld(o: OldName): string {
  return typeof o === 'string' ? `\`${o}\`` : `\`${o.name}\` (${UNIT_WORDS[o.unit]})`;
}

/** What a variable is when unset, as the docs say it: its default, "unset", or "required". */
function shownDefault(schema: z.core.$ZodType): string {
  const meta = metaOf(schema);
  if (meta?.shownDefault !== undefined) return meta.shownDefault;
  const def = schema._zod.def as { type: string; defaultValue?: unknown };
  if (def.type === 'default' || def.type === 'prefault') {
    const v = def.defaultValue;
    return v === '' ? 'none' : `\`${String(v)}\``;
  }
  return def.type === 'optional' ? 'unset' : '**required**';
}

/** Text for a table cell: pipes escaped, and `<placeholder>`s outside code spans escaped, or Markdown would take them for HTML tags. */
const cell = (text: string) =>
  text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

function table(settings: Settings): string[] {
  const rows = Object.entries(settings).map(([name, schema]) => {
    const meta = metaOf(schema);
    if (!meta) throw new Error(`${name} has no description: declare it with setting()`);
    const aliases = meta.aliases?.length ? `<br>deprecated: ${meta.aliases.map(describeOld).join(', ')}` : '';
    const description = [meta.secret ? '**Secret.**' : '', meta.description, meta.ownedBy ? `(${meta.ownedBy}'s own variable, read under its name.)` : '']
      .filter(Boolean)
      .join(' ');
    return `| \`${name}\`${aliases} | ${cell(shownDefault(schema))} | ${cell(description)} |`;
  });
  return ['| Variable | Default | Description |', '|---|---|---|', ...rows];
}

/** Every old name → its new name, across the sections, for the renamed-variables table. */
export function renamedVariables(sections: ConfigDocSection[]): Array<{ old: OldName; name: string }> {
  const seen = new Map<string, { old: OldName; name: string }>();
  for (const s of sections) {
    for (const [name, schema] of Object.entries(s.settings)) {
      for (const old of metaOf(schema)?.aliases ?? []) {
        const key = `${oldName(old)}→${name}`;
        if (!seen.has(key)) seen.set(key, { old, name });
      }
    }
  }
  return [...seen.values()].sort((a, b) => oldName(a.old).localeCompare(oldName(b.old)) || a.name.localeCompare(b.name));
}

/**
 * docs/configuration.md from the settings schemas: one table per section
 * (variable, default, description, deprecated names), then every renamed
 * variable. Written from the code so that it cannot drift from what the
 * services read.
 */
export function renderConfigDoc(o: { preamble: string; sections: ConfigDocSection[] }): string {
  const out = [o.preamble.trim(), ''];
  for (const s of o.sections) {
    out.push(`## ${s.title}`, '', s.intro.trim(), '');
    const own = Object.fromEntries(Object.entries(s.settings).filter(([name, schema]) => s.shared?.settings[name] !== schema));
    const shared = Object.keys(s.settings).filter((name) => !(name in own));
    if (shared.length > 0) out.push(`Also reads ${shared.map((n) => `\`${n}\``).join(', ')} (${s.shared!.title}, above).`, '');
    out.push(...table(own), '');
  }
  out.push('## Renamed variables', '', 'Each old name still works for this release: its value is used (converted where the old name carried a unit) and the service warns once, on stderr, naming the new one. When both are set, the new one wins.', '');
  out.push('| Old name | New name |', '|---|---|');
  for (const r of renamedVariables(o.sections)) out.push(`| ${describeOld(r.old)} | \`${r.name}\` |`);
  return `${out.join('\n')}\n`;
}
