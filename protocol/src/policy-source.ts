/**
 * Reads the administrator's policy YAML. Keys and CA certificates may be given
 * as files (`publicKeyFile`, `caFile`, relative to the YAML file) and are
 * inlined, so the signed bundle is self-contained. Every problem is reported
 * as `path: message`, and nothing is written when there is one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { VigieError } from '../../lib/src/errors.js';
import { formatIssues } from '../../lib/src/schema.js';
import { readTextFile } from '../../lib/src/files.js';
import { PolicySchema } from './policy.js';
import type { Policy } from './policy-schema.js';
import { parseYamlText } from '../../lib/src/yaml.js';

const MAX_YAML_BYTES = 1024 * 1024;
const MAX_INLINED_FILE_BYTES = 64 * 1024;

type Raw = Record<string, unknown>;
interface Problem {
  readonly path: (string | number)[];
  readonly message: string;
  readonly unfilled?: string; // the field left missing because its file could not be read
}

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readReferenced(baseDir: string, ref: unknown): Promise<string> {
  if (typeof ref !== 'string' || ref.length === 0) throw new Error('must be a file path');
  const file = path.resolve(baseDir, ref);
  const stat = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${ref} (${err.code ?? 'error'})`);
  });
  if (!stat.isFile() || stat.size > MAX_INLINED_FILE_BYTES) {
    throw new Error(`${ref} is not a file of at most ${MAX_INLINED_FILE_BYTES} bytes`);
  }
  return fs.readFile(file, 'utf8');
}

/** Replaces `fileKey` by `key` (file content) in each item of `list`; reports read failures. */
async function inlineFiles(
  raw: Raw,
  list: string,
  fileKey: string,
  key: string,
  baseDir: string,
  problems: Problem[],
): Promise<void> {
  const items = raw[list];
  if (!Array.isArray(items)) return;
  for (const [index, item] of items.entries()) {
    if (!isRecord(item) || !(fileKey in item)) continue;
    if (key in item) {
      problems.push({
        path: [list, index, fileKey],
        message: `give either ${key} or ${fileKey}, not both`,
      });
      continue;
    }
    const ref = item[fileKey];
    delete item[fileKey];
    try {
      item[key] = await readReferenced(baseDir, ref);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problems.push({
        path: [list, index, fileKey],
        message,
        unfilled: [list, index, key].join('.'),
      });
    }
  }
}

/** Loads, inlines and validates a policy YAML; `now` fills `issuedAt` when the file omits it. */
export async function loadPolicySource(file: string, now: Date): Promise<Policy> {
  const text = await readTextFile(file, 'policy file');
  return policyFromYaml(text, file, now);
}

/** Validates policy YAML text; file references resolve against the directory of `file`. */
export async function policyFromYaml(text: string, file: string, now: Date): Promise<Policy> {
  if (Buffer.byteLength(text) > MAX_YAML_BYTES) {
    throw new VigieError('policy-invalid', `${file} is larger than ${MAX_YAML_BYTES} bytes`);
  }
  const raw = parseYamlText(text, file, 'policy-invalid');
  if (!isRecord(raw))
    throw new VigieError('policy-invalid', `${file} is invalid:\n  (root): must be a mapping`);
  const problems: Problem[] = [];
  const baseDir = path.dirname(file);
  await inlineFiles(raw, 'operators', 'publicKeyFile', 'publicKey', baseDir, problems);
  await inlineFiles(raw, 'recipients', 'caFile', 'caPem', baseDir, problems);
  if (raw.issuedAt === undefined) raw.issuedAt = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const result = PolicySchema.safeParse(raw);
  if (problems.length === 0 && result.success) return result.data;
  // A file that could not be read leaves its field missing: report the file, not the field.
  const unfilled = new Set(problems.map((p) => p.unfilled));
  const schemaIssues = result.success
    ? []
    : result.error.issues.filter((issue) => !unfilled.has(issue.path.map(String).join('.')));
  const lines = [
    ...problems.map((p) => `${p.path.join('.')}: ${p.message}`),
    ...formatIssues(schemaIssues),
  ];
  throw new VigieError('policy-invalid', `${file} is invalid:\n  ${lines.join('\n  ')}`);
}
