/**
 * Canonical JSON for hashing (the RFC 8785 "JCS" rules for the values we
 * allow): object keys sorted by UTF-16 code units, no whitespace, strings and
 * numbers as ECMAScript JSON.stringify writes them. Storage may reorder keys
 * (PostgreSQL jsonb does); the hash must not depend on that.
 */
import { VigieError } from '../../lib/src/errors.js';

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Deepest nesting canonicalJson writes (the top value is depth 0). */
export const MAX_JSON_DEPTH = 32;

/** A JSON object: plain or without prototype (zod and JSON.parse give either), never a class instance. */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  if (depth > MAX_JSON_DEPTH)
    throw new VigieError('payload-invalid', `value nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string')
    return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new VigieError('payload-invalid', `number ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => write(item, depth + 1)).join(',')}]`;
  if (typeof value === 'object' && isPlainObject(value)) {
    // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 requires.
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    return `{${keys.map((key) => `${JSON.stringify(key)}:${write(record[key], depth + 1)}`).join(',')}}`;
  }
  throw new VigieError('payload-invalid', `a ${typeof value} value has no canonical JSON form`);
}
