import Mustache from 'mustache';
import { javaString } from './compare.js';
import { WatcherDate } from './dates.js';
import { evalPath } from './object-path.js';

export type ContentType = 'text' | 'json';

/**
 * Jackson's quoteAsString, which Watcher's JSON encoder uses: quote, backslash
 * and control characters escaped, everything else as is.
 */
export function jsonEscape(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
  return s.replace(/["\\\u0000-\u001f]/g, (c) => {
    switch (c) {
      case '"':
        return '\\"';
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      default:
        return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    }
  });
}

/**
 * The model as Watcher's mustache sees it: lists have a `size`, and maps and
 * lists print the way Java prints them (`{k=v}`, `[a, b]`) rather than
 * `[object Object]`. Both are non-enumerable, so JSON output is unchanged.
 */
function javaView(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof WatcherDate) return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? value.map(javaView)
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, javaView(v)]));
  Object.defineProperty(copy, 'toString', { value: () => javaString(value), enumerable: false });
  if (Array.isArray(copy)) Object.defineProperty(copy, 'size', { value: copy.length, enumerable: false });
  return copy;
}

/** A path as mustache resolves it in a function's argument: ObjectPath plus a list's `size`. */
function viewPath(path: string, scope: unknown): unknown {
  if (path.endsWith('.size')) {
    const list = evalPath(path.slice(0, -5), scope);
    if (Array.isArray(list)) return list.length;
  }
  return evalPath(path, scope);
}

/** `{{#toJson}}path{{/toJson}}`: a primitive prints bare, a structure as JSON; `.` is the current context. */
function toJson(scope: unknown, path: string): string {
  const v = path === '.' ? scope : viewPath(path, scope);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && !(v instanceof WatcherDate)) return JSON.stringify(v);
  return String(v);
}

function lambdaIdentifier(name: string, text: string): string {
  const id = text.trim();
  if (id === '' || /\{\{/.test(id)) {
    // Watcher allows a nested toJson inside join, which is the one template inside a function it accepts.
    throw new Error(`Mustache function [${name}] must contain one and only one identifier`);
  }
  return id;
}

/** java.net.URLEncoder (form encoding), which `{{#url}}` uses: letters, digits and `.-*_` stay, a space is `+`. */
export function javaUrlEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9.\-*_]/.test(c) ? c : byte === 0x20 ? '+' : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const JOIN = /^join(?: delimiter='([^']*)')?$/;

/**
 * The functions Watcher's mustache adds (toJson, join, url), found by name on
 * any section: a Proxy answers the section names, since `join` carries its
 * delimiter in the tag (`{{#join delimiter=' and '}}…{{/join delimiter=' and '}}`).
 */
function withFunctions(view: Record<string, unknown>, escape: (v: unknown) => string): Record<string, unknown> {
  return new Proxy(view, {
    has: (target, key) => typeof key === 'string' && (key === 'toJson' || key === 'url' || JOIN.test(key) || key in target),
    get: (target, key, receiver) => {
      if (typeof key !== 'string') return Reflect.get(target, key, receiver);
      if (key === 'toJson') return () => function (this: unknown, text: string) { return toJson(this, lambdaIdentifier('toJson', text)); };
      if (key === 'url') return () => (text: string, render: (t: string) => string) => javaUrlEncode(render(text));
      const join = JOIN.exec(key);
      if (join && !(key in target)) {
        const delimiter = join[1] ?? ',';
        return () =>
          function (this: unknown, text: string, render: (t: string) => string) {
            if (/^\s*\{\{#toJson\}\}/.test(text)) return render(text);
            const v = viewPath(lambdaIdentifier('join', text), this);
            return Array.isArray(v) ? v.map((x) => escape(x)).join(delimiter) : v === null ? '' : escape(v);
          };
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

const escapers: Record<ContentType, (v: unknown) => string> = {
  text: (v) => javaString(v),
  json: (v) => jsonEscape(javaString(v)),
};

/**
 * Renders a Watcher text template. `__json__::` in front of a template
 * switches to JSON escaping (and is removed), as in Watcher; otherwise `type`
 * decides: search requests render as JSON, webhook parts as text.
 */
export function renderTemplate(template: string, model: Record<string, unknown>, type: ContentType = 'text'): string {
  let content = type;
  let source = template;
  const prefix = /^__(json|text|yaml|cbor|smile)__::/.exec(template);
  if (prefix) {
    content = prefix[1] === 'json' ? 'json' : 'text';
    source = template.slice(prefix[0].length);
  }
  if (!source.includes('{{')) return source;
  const escape = escapers[content];
  return Mustache.render(source, withFunctions(javaView(model) as Record<string, unknown>, escape), {}, { escape });
}

/** Renders a JSON structure (a search body) by rendering its text as a JSON template and parsing the result. */
export function renderJson(body: unknown, model: Record<string, unknown>): unknown {
  const text = renderTemplate(JSON.stringify(body), model, 'json');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`the rendered template is not JSON (${(err as Error).message}): ${text.slice(0, 500)}`);
  }
}
