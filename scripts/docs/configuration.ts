/**
 * docs/configuration.md, generated: every config key with its type, default,
 * what it does (the doc comment on its field in src/config) and the
 * environment variable that sets it. Types and defaults come from the zod
 * schema the loader validates with; comments from the TypeScript source (read
 * with the compiler API); variables by asking the loader's environment reader
 * what each one sets. `npm run docs` writes it; a test fails when it is stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { z } from 'zod';
import { configSchema } from '../../src/config/definition.js';
import { agentmemEnvConfig, legacyEnvConfig } from '../../src/config/env.js';

const ROOT = join(import.meta.dirname, '../..');
const SOURCES = ['definition.ts', 'formation-schema.ts', 'provider-definition.ts', 'monitor-schema.ts', 'server-schema.ts'].map((f) =>
  join(ROOT, 'src/config', f),
);

type Json = Record<string, unknown>;

/** Doc comments of schema fields, by key path (`router.probeIntervalMs`; `providers[].pool.max`). */
function fieldComments(): Map<string, string> {
  const files = SOURCES.map((file) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  const consts = new Map<string, ts.Expression>();
  for (const file of files)
    file.forEachChild(function visit(node) {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) consts.set(node.name.text, node.initializer);
      node.forEachChild(visit);
    });
  const comments = new Map<string, string>();
  const objectLiterals = (expression: ts.Expression, seen = new Set<string>()): ts.ObjectLiteralExpression[] => {
    if (ts.isIdentifier(expression)) {
      const target = consts.get(expression.text);
      return target && !seen.has(expression.text) ? objectLiterals(target, new Set([...seen, expression.text])) : [];
    }
    const found: ts.ObjectLiteralExpression[] = [];
    // z.object({...}), .extend({...}), z.array(x), x.default(…): the object literals and schemas the chain is built from.
    const walk = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
        if (['object', 'extend', 'strictObject'].includes(name))
          for (const arg of node.arguments) if (ts.isObjectLiteralExpression(arg)) found.push(arg);
        if (['array', 'optional', 'nullable'].includes(name)) for (const arg of node.arguments) found.push(...objectLiterals(arg, seen));
        walk(callee);
      } else if (ts.isPropertyAccessExpression(node)) walk(node.expression);
      else if (ts.isIdentifier(node)) found.push(...objectLiterals(node, seen));
    };
    walk(expression);
    return found;
  };
  const collect = (literal: ts.ObjectLiteralExpression, prefix: string) => {
    for (const property of literal.properties) {
      if (!ts.isPropertyAssignment(property)) continue;
      const key = property.name.getText().replace(/['"]/g, '');
      const path = prefix ? `${prefix}.${key}` : key;
      const docs = ts.getJSDocCommentsAndTags(property).filter(ts.isJSDoc);
      const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join(' ');
      if (text) comments.set(path, text.replace(/\s+/g, ' ').trim());
      const isArray = /^z\s*\.\s*array\(/.test(property.initializer.getText());
      for (const inner of objectLiterals(property.initializer)) collect(inner, isArray ? `${path}[]` : path);
    }
  };
  for (const literal of objectLiterals(consts.get('configSchema') as ts.Expression)) collect(literal, '');
  return comments;
}

/**
 * The variables the loader reads, each with the key it sets: found by setting
 * it (beside AGENTMEM_EMBEDDER, which the embedder's other variables need) and
 * seeing which keys take its value.
 */
function environment(): Map<string, string> {
  const source = readFileSync(join(ROOT, 'src/config/env.ts'), 'utf8');
  const names = [...new Set([...source.matchAll(/env\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] as string))];
  const byKey = new Map<string, string[]>([
    ['providers[].url', ['`AGENTMEM_PROVIDER_<NAME>_URL`']],
    ['providers[].directUrl', ['`AGENTMEM_PROVIDER_<NAME>_DIRECT_URL`']],
    // These name a choice rather than carry a value through: the probe below cannot see them.
    ['providers[].role', ['`AGENTMEM_PRIMARY` (names the primary)', '`DATABASE_PROVIDER`']],
    ['embedder.kind', ['`AGENTMEM_EMBEDDER`']],
  ]);
  const leavesOf = (value: unknown, prefix: string, out: [string, unknown][]) => {
    if (value && typeof value === 'object' && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) leavesOf(v, prefix ? `${prefix}.${k}` : k, out);
    else if (Array.isArray(value) && value.some((v) => v && typeof v === 'object'))
      for (const [i, v] of value.entries()) leavesOf(v, `${prefix}.${i}`, out);
    else out.push([prefix, value]);
  };
  for (const name of names) {
    const sample = name.endsWith('DIMENSIONS') ? '768' : name.endsWith('ENABLED') ? 'true' : `sample-${name.toLowerCase()}`;
    const env: Record<string, string> = { AGENTMEM_EMBEDDER: 'openai', [name]: sample };
    if (name === 'SUPABASE_DB_HOST') env.SUPABASE_DB_PASSWORD = 'p';
    if (name === 'SUPABASE_DB_PASSWORD') env.SUPABASE_DB_HOST = 'h';
    const found: [string, unknown][] = [];
    leavesOf({ ...legacyEnvConfig(env), ...agentmemEnvConfig(env) }, '', found);
    for (const [key, value] of found) {
      const takes = String(value).includes(sample) || (sample === 'true' && value === true) || (sample === '768' && value === 768);
      if (!takes) continue;
      const path = key.replace(/^providers\.\d+/, 'providers[]').replace(/\.\d+$/, '');
      byKey.set(path, [...new Set([...(byKey.get(path) ?? []), `\`${name}\``])]);
    }
  }
  return new Map([...byKey].map(([key, vars]) => [key, vars.join(', ')]));
}

const typeOf = (schema: Json): string => {
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  if ('const' in schema) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map(typeOf).join(' | ');
  if (schema.type === 'array') return `list of ${typeOf((schema.items ?? {}) as Json)}`;
  if (schema.type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object' && !schema.properties)
    return `map of ${typeOf(schema.additionalProperties as Json)}`;
  const bounds = [schema.minimum ?? schema.exclusiveMinimum, schema.maximum ?? schema.exclusiveMaximum];
  const range =
    schema.type === 'integer' || schema.type === 'number'
      ? bounds.some((b) => b !== undefined)
        ? ` (${bounds[0] ?? '…'}–${bounds[1] ?? '…'})`
        : ''
      : '';
  return `${String(schema.type ?? 'any')}${range}`;
};

/** Every leaf key of the schema (objects are walked into, arrays of objects as `key[]`), in the schema's order. */
function leaves(schema: Json, path: string, out: { path: string; schema: Json }[]): void {
  const object = (schema.anyOf as Json[] | undefined)?.find((s) => s.type === 'object') ?? schema;
  if (object.type === 'object' && object.properties) {
    for (const [key, value] of Object.entries(object.properties as Record<string, Json>)) leaves(value, path ? `${path}.${key}` : key, out);
    return;
  }
  if (schema.type === 'array' && (schema.items as Json | undefined)?.type === 'object') {
    leaves(schema.items as Json, `${path}[]`, out);
    return;
  }
  out.push({ path, schema });
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function configurationMarkdown(): string {
  const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: { path: string; schema: Json }[] = [];
  leaves(json, '', rows);
  const comments = fieldComments();
  const env = environment();
  const sections = new Map<string, string[]>();
  for (const { path, schema } of rows) {
    // A key that may never be set (z.never(): a renamed key, kept to say its new name) is not documented.
    if (schema.not && Object.keys(schema.not as Json).length === 0) continue;
    // Top-level keys that hold one value share a section; every other key is under its own.
    const top = path.split(/[.[]/)[0] as string;
    const section = top === path ? 'general' : top;
    const description = comments.get(path) ?? '';
    const defaultValue = 'default' in schema ? `\`${JSON.stringify(schema.default)}\`` : '';
    const line = `| \`${path}\` | ${cell(typeOf(schema))} | ${cell(defaultValue)} | ${env.get(path) ?? ''} | ${cell(description)} |`;
    sections.set(section, [...(sections.get(section) ?? []), line]);
  }
  const parts = [
    '# Configuration',
    '',
    '<!-- Generated by `npm run docs` from the config schema (src/config); edit the schema, not this file. -->',
    '',
    'agentmem reads `agentmem.config.json` (or `.ts`, `.mjs`, `.js`) from the working directory, or the file',
    '`--config` / `AGENTMEM_CONFIG` names; environment variables override the file. Every key is optional:',
    'with none, agentmem runs on the embedded database in `./.agentmem/data`. Times are in milliseconds',
    'unless the key says otherwise. A value outside its range is refused at start-up with the key named',
    '(exit code 2).',
    '',
  ];
  for (const [section, lines] of sections) {
    parts.push(`## ${section}`, '', '| key | type | default | environment | what it does |', '|---|---|---|---|---|', ...lines, '');
  }
  return `${parts.join('\n').trimEnd()}\n`;
}
