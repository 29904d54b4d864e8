import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testCluster } from '@mlmon/elasticsearch/testing';
import { familyIndex, featureValues, INDEX_FAMILIES, schemasOf, setupTemplates, type IndexFamily } from '../src/index.js';

/**
 * The zod schemas in common/contract/src/events/ and the component templates
 * in common/contract/templates/components/ describe the same documents twice,
 * on purpose: one is the producer's contract, the other what Elasticsearch
 * indexes. This walks both and fails on any field that one
 * side has and the other lacks, or types differently.
 */

type Kind = 'string' | 'date' | 'integer' | 'number' | 'boolean' | `record<${string}>`;

const ES_TYPES: Record<Exclude<Kind, `record<${string}>`>, string[]> = {
  // wildcard and match_only_text are ECS's refinements of keyword and text; ip is a string the schema checks.
  string: ['keyword', 'text', 'wildcard', 'match_only_text', 'ip'],
  date: ['date'],
  integer: ['long', 'integer', 'short', 'byte'],
  number: ['float', 'double'],
  boolean: ['boolean'],
};

type Schema = z.core.$ZodType;

/** Through optional, nullable, default and transform wrappers to the type that is stored. */
function unwrap(t: Schema): Schema {
  for (;;) {
    const def = t._zod.def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault') {
      t = (def as z.core.$ZodOptionalDef).innerType;
    } else if (def.type === 'pipe') t = (def as z.core.$ZodPipeDef).in;
    else return t;
  }
}

function kindOf(schema: Schema, path: string): Kind {
  const t = unwrap(schema);
  const def = t._zod.def;
  switch (def.type) {
    case 'string':
      return (def as z.core.$ZodStringFormatDef).format === 'datetime' ? 'date' : 'string';
    case 'enum':
      return 'string';
    case 'literal':
      if ((def as z.core.$ZodLiteralDef<z.core.util.Literal>).values.every((v) => typeof v === 'string')) return 'string';
      break;
    case 'number': {
      // .int() is a check with an integer format (safeint, int32...); z.int() carries the format itself.
      const formats = [def, ...(def.checks ?? []).map((c) => c._zod.def)].map((d) => (d as { format?: string }).format);
      return formats.some((f) => f?.includes('int')) ? 'integer' : 'number';
    }
    case 'boolean':
      return 'boolean';
    case 'array':
      // Elasticsearch has no array type: any field holds one or many values of its type.
      return kindOf((def as z.core.$ZodArrayDef).element, path);
    case 'record':
      return `record<${kindOf((def as z.core.$ZodRecordDef).valueType, `${path}.*`)}>`;
    case 'custom':
      // The one hand-checked record (see its comment): a map of numbers by contract.
      if (t === featureValues) return 'record<number>';
      break;
  }
  throw new Error(`${path}: no Elasticsearch counterpart for zod type ${def.type}`);
}

export function schemaFields(schema: Schema, prefix = '', out = new Map<string, Kind>()): Map<string, Kind> {
  const t = unwrap(schema);
  // Elasticsearch has no array type: a list of objects is mapped as the object.
  if (t._zod.def.type === 'array') return schemaFields((t._zod.def as z.core.$ZodArrayDef).element, prefix, out);
  if (t._zod.def.type === 'object') {
    for (const [key, child] of Object.entries((t._zod.def as z.core.$ZodObjectDef).shape)) {
      schemaFields(child, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, kindOf(t, prefix));
  }
  return out;
}

interface MappingNode {
  type?: string;
  dynamic?: boolean | string;
  properties?: Record<string, MappingNode>;
}

function mappingFields(
  mappings: { properties?: Record<string, MappingNode>; dynamic_templates?: Array<Record<string, { path_match?: string; mapping?: { type?: string } }>> },
): Map<string, string> {
  const out = new Map<string, string>();
  const dynamicTypes = new Map<string, string>();
  for (const entry of mappings.dynamic_templates ?? []) {
    for (const t of Object.values(entry)) {
      if (t.path_match?.endsWith('.*')) dynamicTypes.set(t.path_match.slice(0, -2), t.mapping?.type ?? '?');
    }
  }
  const walk = (props: Record<string, MappingNode>, prefix: string) => {
    for (const [key, node] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (node.properties) walk(node.properties, path);
      else if (node.type && node.type !== 'object') out.set(path, node.type);
      else if (String(node.dynamic) === 'true') out.set(path, `record<${dynamicTypes.get(path) ?? 'untyped'}>`);
      else out.set(path, 'empty object');
    }
  };
  walk(mappings.properties ?? {}, '');
  return out;
}

function compatible(kind: Kind, esType: string): boolean {
  const record = /^record<(.+)>$/;
  const k = record.exec(kind);
  const e = record.exec(esType);
  if (k || e) return !!k && !!e && compatible(k[1] as Kind, e[1]!);
  return ES_TYPES[kind as keyof typeof ES_TYPES]?.includes(esType) ?? false;
}

const cluster = testCluster();
const { client, prefix } = cluster;
beforeAll(() => setupTemplates(client, { prefix }));
afterAll(cluster.cleanup);

async function familyMapping(family: IndexFamily): Promise<Map<string, string>> {
  // Simulating the index the shipper would create composes the templates exactly as Elasticsearch does.
  // The 8.8 client types this response without its `template` member, which the server does send.
  const simulated = (await client.indices.simulateIndexTemplate({ name: familyIndex(prefix, family, new Date()) })) as unknown as {
    template: { mappings: Parameters<typeof mappingFields>[0] };
  };
  return mappingFields(simulated.template.mappings);
}

describe('schemas and mappings agree', () => {
  it.each(INDEX_FAMILIES)('%s: every schema field is mapped with a matching type, and every mapped field is in a schema', async (family) => {
    const mapping = await familyMapping(family);
    const problems: string[] = [];
    const inSomeSchema = new Set<string>();
    for (const [dataset, schema] of schemasOf(family)) {
      for (const [field, kind] of schemaFields(schema)) {
        inSomeSchema.add(field);
        const esType = mapping.get(field);
        if (esType === undefined) problems.push(`${dataset}: ${field} (${kind}) is not mapped`);
        else if (!compatible(kind, esType)) problems.push(`${dataset}: ${field} is ${kind} in the schema but ${esType} in the mapping`);
      }
    }
    for (const [field, esType] of mapping) {
      if (!inSomeSchema.has(field)) problems.push(`${field} (${esType}) is mapped but in no ${family} schema`);
    }
    expect(problems).toEqual([]);
    expect(mapping.size).toBeGreaterThan(10);
  });

  it('the walk itself catches a mismatch', () => {
    const schema = z.object({ a: z.object({ b: z.number().int(), c: z.iso.datetime(), d: z.number().min(0) }), f: z.record(z.string(), z.number()) });
    expect([...schemaFields(schema)]).toEqual([
      ['a.b', 'integer'],
      ['a.c', 'date'],
      ['a.d', 'number'],
      ['f', 'record<number>'],
    ]);
    expect(compatible('integer', 'float')).toBe(false);
    expect(compatible('date', 'keyword')).toBe(false);
    expect(compatible('record<number>', 'record<float>')).toBe(true);
    expect(compatible('record<number>', 'record<untyped>')).toBe(false);
    const fields = mappingFields({ properties: { a: { properties: { b: { type: 'long' } } }, f: { type: 'object', dynamic: true } } });
    expect(fields.get('f')).toBe('record<untyped>');
  });
});
