/**
 * Reading the YAML files people write (configurations, the policy source):
 * duplicate keys refused, every syntax error reported as `file:line:col:
 * message`, and alias trouble (an unknown anchor, an alias bomb) a clear error
 * rather than a stack trace. The caller validates the result with its schema.
 */
import { LineCounter, parseDocument } from 'yaml';
import { VigieError, type ErrorCode } from './errors.js';

/** Bound on alias expansion: a few legitimate anchors, never a "billion laughs". */
const MAX_ALIAS_COUNT = 100;

export function parseYamlText(text: string, file: string, code: ErrorCode): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = lineCounter.linePos(e.pos[0]);
      return `${file}:${at.line}:${at.col}: ${e.message.split('\n')[0] ?? ''}`;
    });
    throw new VigieError(code, `${file} is not valid YAML:\n  ${lines.join('\n  ')}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new VigieError(code, `${file} is not valid YAML: ${reason}`, { cause: err });
  }
}
