/**
 * Watcher's behaviour, carried over as facts from Elastic's own tests
 * (CompareConditionTests, ArrayCompareConditionTests, MustacheTests,
 * CustomMustacheFactoryTests, MustacheScriptEngineTests in elastic/elasticsearch)
 * and from the Watcher documentation. Each expectation is Watcher's answer.
 */
import { describe, expect, it } from 'vitest';
import { lenientCompare } from '../src/watcher/compare.js';
import { compareOp, evaluateCondition, quantify } from '../src/watcher/conditions.js';
import { WatcherDate, javaIsoString, parseDateMath } from '../src/watcher/dates.js';
import { parseDuration } from '../src/watcher/duration.js';
import { jsonEscape, renderJson, renderTemplate } from '../src/watcher/mustache.js';
import { evalPath } from '../src/watcher/object-path.js';
import type { CompareOp, Condition } from '../src/watcher/schema.js';

// array_compare's inferred type cannot express `path` beside operator keys; the literals below are valid watches.
const ac = (c: unknown) => c as Condition;

const op = (o: CompareOp, a: unknown, b: unknown) => compareOp(o, lenientCompare(a, b));

describe('compare condition operators (CompareConditionTests)', () => {
  // [v1, v2, eq, not_eq, gt, gte, lt, lte]; null where Elastic's test has no case for that operator.
  const cases: Array<[unknown, unknown, boolean | null, boolean | null, boolean | null, boolean | null, boolean | null, boolean | null]> = [
    [null, null, true, false, null, null, null, null],
    [4, 3.0, false, true, true, true, false, false],
    [3, 3.0, true, false, false, true, false, true],
    [2, 3.0, false, true, false, false, true, true],
    [3, null, false, true, false, false, false, false],
    [2, '2', true, false, null, null, null, null],
    [3, '2', null, null, true, true, false, false],
    [3, '4', false, true, false, false, true, true],
    [3, 'a', false, true, false, false, true, true],
    ['3', 3, true, false, null, null, null, null],
    ['4', 3, null, null, true, true, false, false],
    ['a', 'aa', false, true, false, false, true, true],
    ['a', 'a', true, false, false, true, false, true],
    ['aa', 'ab', false, true, false, false, true, true],
    [{ k: 'v' }, { k: 'v' }, true, false, null, null, null, null],
    [{ k: 'v' }, { k1: 'v1' }, false, true, null, null, null, null],
    [['k', 'v'], ['k', 'v'], true, false, null, null, null, null],
    [['k', 'v'], ['k1', 'v1'], false, true, null, null, null, null],
    [NaN, 250000, false, true, false, false, false, false],
    [250000, NaN, false, true, false, false, false, false],
    [NaN, NaN, true, false, false, true, false, true],
  ];
  const ops: CompareOp[] = ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'];
  for (const [v1, v2, ...expected] of cases) {
    ops.forEach((o, i) => {
      const want = expected[i];
      if (want === null || want === undefined) return;
      it(`${o}(${JSON.stringify(v1)}, ${JSON.stringify(v2)}) is ${want}`, () => expect(op(o, v1, v2)).toBe(want));
    });
  }
});

describe('array_compare quantifiers (ArrayCompareConditionTests)', () => {
  const cases: Array<[CompareOp, 'all' | 'some', unknown[], unknown, boolean]> = [
    ['eq', 'all', [1, 1], 1, true],
    ['eq', 'all', [1, 3], 2, false],
    ['eq', 'some', [1, 3], 1, true],
    ['eq', 'some', [1, 3], 2, false],
    ['not_eq', 'all', [1, 1], 3, true],
    ['not_eq', 'all', [1, 3], 1, false],
    ['not_eq', 'some', [1, 3], 1, true],
    ['not_eq', 'some', [1, 1], 1, false],
    ['gte', 'all', [1, 3], 1, true],
    ['gte', 'all', [1, 3], 2, false],
    ['gte', 'some', [1, 3], 2, true],
    ['gte', 'some', [1, 3], 4, false],
    ['gt', 'all', [1, 3], 0, true],
    ['gt', 'all', [1, 3], 1, false],
    ['gt', 'some', [1, 3], 2, true],
    ['gt', 'some', [1, 3], 4, false],
    ['lte', 'all', [1, 3], 3, true],
    ['lte', 'all', [1, 3], 0, false],
    ['lte', 'some', [1, 3], 3, true],
    ['lte', 'some', [1, 3], 0, false],
    ['lt', 'all', [1, 3], 4, true],
    ['lt', 'all', [1, 3], 3, false],
    ['lt', 'some', [1, 3], 2, true],
    ['lt', 'some', [1, 3], 0, false],
  ];
  for (const [o, q, values, value, want] of cases) {
    it(`${q} ${o} ${value} over ${JSON.stringify(values)} is ${want}`, () => expect(quantify(q, values, value, o)).toBe(want));
  }
  for (const o of ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'] as const) {
    it(`${o} over an empty array: all is true, some is false`, () => {
      expect(quantify('all', [], 1, o)).toBe(true);
      expect(quantify('some', [], 1, o)).toBe(false);
    });
  }

  it('resolves `path` inside each element (testExecutePath)', () => {
    const counts = [3, 7, 1];
    const ctx = { payload: { value: counts.map((doc_count) => ({ doc_count })) } };
    for (const o of ['eq', 'not_eq', 'gt', 'gte', 'lt', 'lte'] as const) {
      for (const q of ['all', 'some'] as const) {
        const r = evaluateCondition(ac({ array_compare: { 'ctx.payload.value': { path: 'doc_count', [o]: { value: 3, quantifier: q } } } }), { ctx }, Date.now());
        expect(r.met).toBe(quantify(q, counts, 3, o));
      }
    }
  });

  it('a path that is not an array is an error; a missing one is an empty array', () => {
    const cond = ac({ array_compare: { 'ctx.payload.value': { path: '', gt: { value: 1, quantifier: 'some' } } } });
    expect(() => evaluateCondition(cond, { ctx: { payload: { value: 5 } } }, Date.now())).toThrow('array path ctx.payload.value did not evaluate to array, was 5');
    expect(evaluateCondition(cond, { ctx: { payload: {} } }, Date.now()).met).toBe(false);
  });

  it('date math values: every element newer than now-1d (testExecuteDateMath)', () => {
    const now = Date.parse('2024-03-01T12:00:00Z');
    const values = [1, 2, 3].map((s) => new WatcherDate(now + s * 1000));
    const met = (o: CompareOp, q: 'all' | 'some') =>
      evaluateCondition(ac({ array_compare: { 'ctx.payload.value': { path: '', [o]: { value: '<{now-1d}>', quantifier: q } } } }), { ctx: { payload: { value: values } } }, now).met;
    for (const q of ['all', 'some'] as const) {
      for (const o of ['gt', 'gte', 'not_eq'] as const) expect(met(o, q)).toBe(true);
      for (const o of ['lt', 'lte', 'eq'] as const) expect(met(o, q)).toBe(false);
    }
  });
});

describe('compare condition values', () => {
  const now = Date.parse('2024-03-01T12:00:00Z');
  it('a date math value compares as a date (testExecuteDateMath)', () => {
    const cond = (o: CompareOp) => ({ compare: { 'ctx.payload.value': { [o]: '<{now-1d}>' } } });
    const ctx = { payload: { value: new WatcherDate(now) } };
    for (const o of ['gt', 'gte', 'not_eq'] as const) expect(evaluateCondition(cond(o), { ctx }, now).met).toBe(true);
    for (const o of ['lt', 'lte', 'eq'] as const) expect(evaluateCondition(cond(o), { ctx }, now).met).toBe(false);
  });

  it('an observed ISO string or epoch millis compares with a date math value', () => {
    const r = (value: unknown) => evaluateCondition({ compare: { 'ctx.payload.last': { lt: '<{now-5m}>' } } }, { ctx: { payload: { last: value } } }, now);
    expect(r('2024-03-01T11:50:00.000Z').met).toBe(true);
    expect(r(Date.parse('2024-03-01T11:50:00Z')).met).toBe(true);
    expect(r('2024-03-01T11:58:00Z').met).toBe(false);
    expect(r(null).met).toBe(false);
    expect(r('not a date').met).toBe(false);
  });

  it('a {{path}} value resolves into ctx (testExecutePath)', () => {
    const ctx = { payload: { value: { any: 'object' }, limit: 5, seen: 7 }, metadata: { threshold: 6 } };
    expect(evaluateCondition({ compare: { 'ctx.payload.value': { eq: '{{ctx.payload.value}}' } } }, { ctx }, now).met).toBe(true);
    expect(evaluateCondition({ compare: { 'ctx.payload.value': { not_eq: '{{ctx.payload.value}}' } } }, { ctx }, now).met).toBe(false);
    const r = evaluateCondition({ compare: { 'ctx.payload.seen': { gt: '{{ctx.metadata.threshold}}' } } }, { ctx }, now);
    expect(r).toMatchObject({ met: true, observed: 7, threshold: 6, resolved_values: { 'ctx.metadata.threshold': 6, 'ctx.payload.seen': 7 } });
  });

  it('always and never', () => {
    expect(evaluateCondition({ always: {} }, {}, now).met).toBe(true);
    expect(evaluateCondition({ never: {} }, {}, now).met).toBe(false);
  });
});

describe('paths (ObjectPath)', () => {
  const doc = { a: { b: [{ c: 1 }, { c: 2 }] }, 'x.y': 3 };
  it('walks maps and lists, a missing or non-numeric list segment is null', () => {
    expect(evalPath('a.b.1.c', doc)).toBe(2);
    expect(evalPath('a.b.5.c', doc)).toBe(null);
    expect(evalPath('a.b.c', doc)).toBe(null);
    expect(evalPath('', doc)).toBe(doc);
    expect(evalPath('x.y', doc)).toBe(null);
  });
});

describe('date math (UTC, as Watcher evaluates it)', () => {
  const now = Date.parse('2024-03-06T15:42:17.250Z'); // a Wednesday
  const at = (e: string) => new Date(parseDateMath(e, now).ms).toISOString();
  it.each([
    ['now', '2024-03-06T15:42:17.250Z'],
    ['now-5m', '2024-03-06T15:37:17.250Z'],
    ['now+1h', '2024-03-06T16:42:17.250Z'],
    ['now/d', '2024-03-06T00:00:00.000Z'],
    ['now-1d/d', '2024-03-05T00:00:00.000Z'],
    ['now/w', '2024-03-04T00:00:00.000Z'],
    ['now/M', '2024-03-01T00:00:00.000Z'],
    ['now-1M', '2024-02-06T15:42:17.250Z'],
    ['now/y', '2024-01-01T00:00:00.000Z'],
    ['now/m', '2024-03-06T15:42:00.000Z'],
    ['2024-01-31||+1M', '2024-03-02T00:00:00.000Z'],
    ['2024-01-31T10:00:00Z||/d', '2024-01-31T00:00:00.000Z'],
  ])('%s', (expr, want) => expect(at(expr)).toBe(want));
  it('refuses what it cannot read', () => expect(() => parseDateMath('now-5x', now)).toThrow('cannot parse "-5x"'));
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
  ])('%s', (d, ms) => expect(parseDuration(d)).toBe(ms));
  it('names the bad value', () => expect(() => parseDuration('5 minutes', 'throttle_period')).toThrow('throttle_period: "5 minutes" is not a duration'));
});

describe('mustache rendering (MustacheTests, CustomMustacheFactoryTests)', () => {
  it('replaces a parameter inside a JSON body', () => {
    const t = '{"query": {"boosting": {"negative_boost": {{boost_val}} } }}';
    expect(renderTemplate(t, { boost_val: '0.2' }, 'json')).toBe('{"query": {"boosting": {"negative_boost": 0.2 } }}');
  });
  it('JSON content escapes strings (testJsonEscapeEncoder); plain text does not (testDefaultEncoder)', () => {
    expect(renderTemplate('{"field": "{{value}}"}', { value: 'a "value"' }, 'json')).toBe('{"field": "a \\"value\\""}');
    expect(renderTemplate('{"field": "{{value}}"}', { value: 'a "value"' }, 'text')).toBe('{"field": "a "value""}');
    expect(renderTemplate('__json__::{"field": "{{value}}"}', { value: 'a "value"' }, 'text')).toBe('{"field": "a \\"value\\""}');
  });
  it('escapes newlines, backslashes and control characters as JSON (testEscapeJson)', () => {
    expect(jsonEscape('hello \n world')).toBe('hello \\n world');
    expect(jsonEscape('\\')).toBe('\\\\');
    expect(jsonEscape('\u0000\u0001\u001F')).toBe('\\u0000\\u0001\\u001F');
  });
  it('the url function form-encodes (testUrlEncoder)', () => {
    expect(renderTemplate('{"field": "{{#url}}{{value}}{{/url}}"}', { value: 'tilde~ AND date:[2016 FROM*]' })).toBe('{"field": "tilde%7E+AND+date%3A%5B2016+FROM*%5D"}');
  });
  it('indexes lists and reads their size (testArrayAccess, testSizeAccessForCollectionsAndArrays)', () => {
    expect(renderTemplate('{{data.0}} {{data.1}}', { data: ['foo', 'bar'] })).toBe('foo bar');
    expect(renderTemplate('{{data.0.0}} {{data.0.1}}', { data: [['foo', 'bar']] })).toBe('foo bar');
    expect(renderTemplate('{{data.0.key}} {{data.1.key}}', { data: [{ key: 'foo' }, { key: 'bar' }] })).toBe('foo bar');
    expect(renderTemplate('{{data.list.size}}', { data: { list: ['a', 'b', 'c'] } })).toBe('3');
  });
  it('toJson of primitives (testPrimitiveToJSON)', () => {
    const t = '{{#toJson}}ctx{{/toJson}}';
    expect(renderTemplate(t, { ctx: 'value' })).toBe('value');
    expect(renderTemplate(t, { ctx: '' })).toBe('');
    expect(renderTemplate(t, { ctx: true })).toBe('true');
    expect(renderTemplate(t, { ctx: 42 })).toBe('42');
    expect(renderTemplate(t, { ctx: 42.5 })).toBe('42.5');
    expect(renderTemplate(t, { ctx: null })).toBe('');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: 'value' })).toBe('{"ctx":"value"}');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: 42 })).toBe('{"ctx":42}');
    expect(renderTemplate('{{#toJson}}.{{/toJson}}', { ctx: null })).toBe('{"ctx":null}');
  });
  it('toJson of maps and lists (testSimpleMapToJSON, testSimpleListToJSON, testEmbeddedToJSON)', () => {
    const human = { name: 'John Smith', age: 42, height: 1.84 };
    expect(JSON.parse(renderTemplate('{{#toJson}}ctx{{/toJson}}', { ctx: human }))).toEqual(human);
    expect(renderTemplate('{{#toJson}}ctx.name{{/toJson}}', { ctx: human })).toBe('John Smith');
    const list = ['one', 'two', 'three'];
    expect(renderTemplate('{{#toJson}}ctx{{/toJson}}', { ctx: list })).toBe('["one","two","three"]');
    expect(renderTemplate('{{#toJson}}ctx.1{{/toJson}}', { ctx: list })).toBe('two');
    expect(renderTemplate('{{#toJson}}ctx.size{{/toJson}}', { ctx: list })).toBe('3');
    const bulks = { bulks: [{ index: 'index-1', id: 1 }, { index: 'index-2', id: 2 }] };
    expect(renderTemplate('{{#ctx.bulks}}<{{#toJson}}id{{/toJson}}>{{/ctx.bulks}}', { ctx: bulks })).toBe('<1><2>');
    expect(renderTemplate('{{#ctx.bulks}}{{#toJson}}.{{/toJson}}{{/ctx.bulks}}', { ctx: bulks })).toBe('{"index":"index-1","id":1}{"index":"index-2","id":2}');
  });
  it('toJson and join need exactly one identifier (testsUnsupportedTagsToJson, testsUnsupportedTagsJoin)', () => {
    expect(() => renderTemplate('{{#toJson}}{{/toJson}}', {})).toThrow('Mustache function [toJson] must contain one and only one identifier');
    expect(() => renderTemplate('{{#join}}{{/join}}', {})).toThrow('Mustache function [join] must contain one and only one identifier');
  });
  it('join (testSimpleArrayJoin, testEmbeddedArrayJoin, testJoinWithToJson, testJoinWithCustomDelimiter)', () => {
    expect(renderTemplate('{{#join}}array{{/join}}', { array: ['one', 'two', 'three'] })).toBe('one,two,three');
    expect(renderTemplate('{{#join}}array{{/join}}', { array: [1.5, 2.5, 3.5] })).toBe('1.5,2.5,3.5');
    expect(renderTemplate('{{#join}}array{{/join}}', { array: [true, false, true] })).toBe('true,false,true');
    const people = { people: [{ emails: ['john@smith.com', 'jsmith@email.com'] }, { emails: ['john@doe.com', 'jdoe@email.com'] }] };
    expect(renderTemplate('{{#join}}ctx.people.1.emails{{/join}}', { ctx: people })).toBe('john@doe.com,jdoe@email.com');
    expect(renderTemplate('{{#ctx.people}}to: {{#join}}emails{{/join}};{{/ctx.people}}', { ctx: people })).toBe('to: john@smith.com,jsmith@email.com;to: john@doe.com,jdoe@email.com;');
    expect(renderTemplate('{{#join}}{{#toJson}}terms{{/toJson}}{{/join}}', { terms: [{ term: 'foo' }, { term: 'bar' }] })).toBe('[{"term":"foo"},{"term":"bar"}]');
    const params = { params: [1, 2, 3, 4] };
    expect(renderTemplate("{{#join delimiter=''}}params{{/join delimiter=''}}", params)).toBe('1234');
    expect(renderTemplate("{{#join delimiter='/'}}params{{/join delimiter='/'}}", params)).toBe('1/2/3/4');
    expect(renderTemplate("{{#join delimiter=' and '}}params{{/join delimiter=' and '}}", params)).toBe('1 and 2 and 3 and 4');
  });
  it('maps and lists print as Java prints them; dates as java.time does', () => {
    expect(renderTemplate('{{m}} {{l}}', { m: { a: 1, b: 'x' }, l: [1, 2] })).toBe('{a=1, b=x} [1, 2]');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:00Z'))).toBe('2015-05-23T13:26Z');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:19Z'))).toBe('2015-05-23T13:26:19Z');
    expect(javaIsoString(Date.parse('2015-05-23T13:26:19.120Z'))).toBe('2015-05-23T13:26:19.120Z');
    expect(renderTemplate('{{ctx.t}}', { ctx: { t: new WatcherDate(Date.parse('2015-05-23T13:26:19.5Z')) } })).toBe('2015-05-23T13:26:19.500Z');
  });
  it('renders a search body with the execution context and keeps its JSON', () => {
    const body = { query: { range: { '@timestamp': { gte: '{{ctx.trigger.scheduled_time}}||-{{ctx.metadata.window}}' } } }, size: '{{ctx.metadata.n}}' };
    const ctx = { trigger: { scheduled_time: new WatcherDate(Date.parse('2024-01-01T10:05:00Z')) }, metadata: { window: '5m', n: 3 } };
    expect(renderJson(body, { ctx })).toEqual({ query: { range: { '@timestamp': { gte: '2024-01-01T10:05Z||-5m' } } }, size: '3' });
  });
});
