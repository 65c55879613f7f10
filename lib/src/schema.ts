/**
 * Schema errors for people: every issue printed as `path: message`, so that an
 * operator fixing a YAML file sees exactly which field is wrong and why.
 */
import type { z } from 'zod';
import { VigieError, type ErrorCode } from './errors.js';

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${where}: ${issue.message}`;
  });
}

/** Parses with a schema or throws one VigieError listing every problem, one per line. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  code: ErrorCode = 'config-invalid',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = formatIssues(result.error.issues);
  throw new VigieError(code, `${what} is invalid:\n  ${lines.join('\n  ')}`);
}
