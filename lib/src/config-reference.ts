/**
 * Configuration references for the docs, generated from each configuration's
 * schema (zod's JSON Schema export), so the docs cannot drift from the code:
 * a test per deployable checks its page contains this exact table
 * (docs/central.md, docs/agent.md).
 */
import { z } from 'zod';

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
}

function typeText(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.type === 'integer' && node.minimum !== undefined && node.maximum !== undefined) {
    return `integer ${node.minimum}–${node.maximum}`;
  }
  return node.type ?? 'value';
}

function rows(node: JsonSchemaNode, prefix: string, parentRequired: boolean): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    const required = parentRequired && (node.required ?? []).includes(key);
    if (child.type === 'object' && child.properties) {
      out.push(...rows(child, name, required && child.default === undefined));
      continue;
    }
    const dflt =
      child.default !== undefined
        ? `\`${JSON.stringify(child.default)}\``
        : required
          ? 'required'
          : '';
    out.push(`| \`${name}\` | ${typeText(child)} | ${dflt} | ${child.description ?? ''} |`);
  }
  return out;
}

/** A Markdown table: key, type, default (or "required"), description. */
export function configReference(configSchema: z.ZodType): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchemaNode;
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows(schema, '', true),
  ].join('\n');
}
